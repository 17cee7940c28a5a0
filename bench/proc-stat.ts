import * as fs from 'node:fs';

/** USER_HZ, the unit of proc(5)'s CPU times: 100 on every Linux ABI we run on. */
const CLOCK_TICKS = 100;

/**
 * utime and stime from a `/proc/<pid>` or `/proc/thread-self` directory, in ms: the code's
 * own time, and the kernel's on its behalf. A process's figures cover all its threads.
 */
export function statCpuMs(procDir: string): { userMs: number; sysMs: number } {
  const stat = fs.readFileSync(`${procDir}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 of proc(5)
  const ms = (ticks: string | undefined): number => (Number(ticks) * 1000) / CLOCK_TICKS;
  return { userMs: ms(f[11]), sysMs: ms(f[12]) };
}
