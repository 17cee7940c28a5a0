/**
 * (d) Idle authenticated sessions: server RSS growth per held session (VmRSS before the
 * sessions open and while they are all held). Logins are verification-bound, so the count
 * is capped by a time budget as well.
 */
import { GENERATOR_THREADS, runLoad, split } from '../load-generator';
import type { IdleTask } from '../load-protocol';
import { rssKiB } from '../procs';
import type { Row } from '../report';
import { startCircles, type BenchContext } from './context';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runIdle(ctx: BenchContext): Promise<Row[]> {
  const sessions = ctx.quick ? 1000 : 10_000;
  const server = await startCircles(ctx, 'd-circles');
  try {
    await sleep(1000); // let start-up allocations settle before the "before" reading
    const before = rssKiB(server.pid);
    let after = NaN;
    const tasks: IdleTask[] = split(sessions, GENERATOR_THREADS).map((n) => ({
      mode: 'idle',
      port: server.port,
      path: `/${ctx.circle}`,
      sessions: n,
      parallel: 64,
      timeoutMs: ctx.quick ? 15_000 : 180_000,
    }));
    const t0 = Date.now();
    const run = await runLoad(tasks, async () => {
      await sleep(1000); // sessions are idle now: no request is in flight
      after = rssKiB(server.pid);
    });
    const held = run.readyInfo.reduce((a, r) => a + (r.opened ?? 0), 0);
    const failed = run.readyInfo.reduce((a, r) => a + (r.failed ?? 0), 0);
    const perKiB = (after - before) / held;
    const row: Row = {
      scenario: `(d) server RSS per idle authenticated session (${held} held)`,
      ours: perKiB,
      baseline: null,
      unit: 'KiB',
      ratio: null,
      target: '< 10 KiB',
      met: perKiB < 10 && held > 0,
      detail: {
        'RSS before MiB': Number((before / 1024).toFixed(1)),
        'RSS held MiB': Number((after / 1024).toFixed(1)),
        'failed logins': failed,
        'open+auth s': Number(((Date.now() - t0) / 1000).toFixed(1)),
      },
    };
    ctx.emit(row);
    return [row];
  } finally {
    await server.stop();
  }
}
