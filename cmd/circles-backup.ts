#!/usr/bin/env node
/**
 * circles-backup: a consistent, compacted copy of the launcher's embedded database, taken
 * while it runs. The copy is a data directory of its own: start a launcher with
 * `--data-dir <copy>` to restore it.
 */
import { Command, Option } from 'commander';
import { DEFAULT_DATA_DIR } from '../queue/embedded-env';
import { backupDataDir } from '../queue/embedded-backup';
import { runCommand } from './run-command';

const program = new Command('circles-backup')
  .description(
    "Copy the embedded database (the launcher's --data-dir) to a new directory, safely while it runs",
  )
  .argument('<target-dir>', 'new or empty directory for the copy')
  .addOption(
    new Option('--data-dir <dir>', 'the database to copy').env('CIRCLES_DATA_DIR').default(DEFAULT_DATA_DIR),
  )
  .version('0.1.0');

void runCommand(program, async (p) => {
  const { dataDir } = p.opts<{ dataDir: string }>();
  const target = p.args[0]!;
  const bytes = await backupDataDir(dataDir, target);
  process.stdout.write(`backed up ${dataDir} to ${target} (${bytes} bytes)\n`);
});
