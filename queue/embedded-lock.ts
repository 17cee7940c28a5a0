import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';

export const LOCK_FILE = 'circles.lock';

/** Another live process holds the directory. */
export class LockHeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockHeldError';
  }
}

/** Held data-directory lock; `release` is idempotent. */
export interface DirectoryLock {
  release(): void;
}

/**
 * Takes `<dir>/circles.lock` for this process. LMDB itself lets several processes share an
 * environment, but two launchers on one directory would each hold their own in-memory queues
 * and run every queued task twice; so a second one is refused while the first is alive.
 * A lock left by a process that no longer exists (kill -9, crash) is taken over.
 */
export function acquireLock(dir: string, logger: Logger): DirectoryLock {
  const file = path.join(dir, LOCK_FILE);
  // Two rounds: the second follows the removal of a stale lock (another process may win it).
  for (let round = 0; round < 2; round++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(file);
      if (owner !== undefined && isAlive(owner)) {
        throw new LockHeldError(`data directory ${dir} is in use by process ${owner}`);
      }
      logger.warn({ dataDir: dir, stalePid: owner ?? null }, 'taking over a stale data directory lock');
      fs.rmSync(file, { force: true });
      continue;
    }
    try {
      fs.writeSync(fd, `${process.pid}\n`);
    } finally {
      fs.closeSync(fd);
    }
    let held = true;
    return {
      release() {
        if (!held) return;
        held = false;
        // Only our own lock: never remove one a later process took over.
        if (readOwner(file) === process.pid) fs.rmSync(file, { force: true });
      },
    };
  }
  throw new LockHeldError(`data directory ${dir} is in use by another process (lock ${file})`);
}

/** The pid in a lock file; `undefined` when gone or unreadable (a crash before the write). */
function readOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it just belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
