import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import { FORMAT, type FormatMarker } from './embedded-env';

/**
 * Copies the embedded database in `dataDir` to `targetDir`, which then works as a
 * `--data-dir` of its own. Safe while a launcher runs on `dataDir`: LMDB lets another
 * process read a consistent snapshot (no lock is taken, no write waits), and the copy is
 * compacted. Returns the size of the copy in bytes; throws one line on any problem.
 */
export async function backupDataDir(dataDir: string, targetDir: string): Promise<number> {
  const source = path.resolve(dataDir);
  const target = path.resolve(targetDir);
  if (!fs.existsSync(path.join(source, 'data.mdb'))) throw new Error(`no embedded database in ${source}`);
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new Error(`backup target ${target} must be a new or empty directory`);
  }
  const root = open({ path: source, readOnly: true, maxDbs: 16 });
  try {
    const format = root.openDB<FormatMarker, string>('meta', {}).get('format');
    if (format?.name !== FORMAT.name || format.version !== FORMAT.version) {
      throw new Error(`${source} does not hold a Circles embedded database of this version`);
    }
    fs.mkdirSync(target, { recursive: true });
    await root.backup(target, true);
  } finally {
    await root.close();
  }
  return fs.statSync(path.join(target, 'data.mdb')).size;
}
