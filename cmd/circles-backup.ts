#!/usr/bin/env node
/**
 * circles-backup: a consistent, compacted copy of the launcher's embedded database, taken
 * while it runs. The copy is a data directory of its own: start a launcher with
 * `--data-dir <copy>` to restore it.
 */
import { backupDataDir } from '../queue/embedded-backup';
import { BACKUP_FLAGS, backupSchema, LAUNCHER_FLAGS } from './flags';
import { runCommand } from './run-command';

void runCommand(
  {
    name: 'circles-backup',
    description:
      "Copy the embedded database (the launcher's --data-dir) to a new directory, safely while it runs",
    flags: BACKUP_FLAGS,
    schema: backupSchema,
    argument: { name: 'target-dir', description: 'new or empty directory for the copy' },
    // `--config` takes the launcher's file: its data directory is the one to copy.
    ignoredConfigKeys: LAUNCHER_FLAGS.map((f) => f.key),
  },
  async ({ dataDir }, [target]) => {
    const bytes = await backupDataDir(dataDir, target!);
    process.stdout.write(`backed up ${dataDir} to ${target} (${bytes} bytes)\n`);
  },
);
