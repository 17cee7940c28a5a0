import * as fs from 'node:fs';
import * as os from 'node:os';

/**
 * Lowers the calling thread's CPU priority to `nice` (0 normal … 19 lowest). On Linux a nice
 * value belongs to a thread, so a worker thread can yield to its process's event loop: the
 * scheduler then runs the loop first whenever both are runnable, instead of time-slicing them.
 * Returns whether it applied; elsewhere (or when a higher nice is already set) it does nothing.
 */
export function lowerThisThreadPriority(nice: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>": the id setpriority(2) takes for a thread.
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    if (os.getPriority(tid) >= nice) return false;
    os.setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
