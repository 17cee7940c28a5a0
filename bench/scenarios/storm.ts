/**
 * (f) Authentication storm: many parallel fresh-session logins while 16 bystander sessions
 * run `whoami` one at a time; their p99 against the same 16 sessions with no storm. The
 * storm and the bystanders run on separate generator threads, on one core: the storm's at
 * nice 10, the bystanders' under SCHED_FIFO, so what the row measures is the server's
 * fairness, not the bystanders' client queued behind the storm's clients on their shared core.
 * The row reports where the generator's core went: on a two-core machine the bystanders'
 * client alone fills it (≈ 94 % at ≈ 50 k msg/s), and the storm's client (≈ 0.4 ms a login)
 * gets what is left, so the storm's rate there is the machine's limit, not the server's.
 */
import { runLoad, summarise } from '../load-generator';
import type { AuthTask, LoadResult, RpcTask } from '../load-protocol';
import { cpuMs } from '../procs';
import type { Row } from '../report';
import { ms, startCircles, WHOAMI, type BenchContext } from './context';

export async function runStorm(ctx: BenchContext): Promise<Row[]> {
  const server = await startCircles(ctx, 'f-circles');
  const parallel = ctx.quick ? 128 : 256;
  const window = ctx.durationMs * 2;
  const bystanders = (delay: number): RpcTask => ({
    mode: 'rpc',
    port: server.port,
    path: `/${ctx.circle}`,
    conns: 16,
    depth: 1,
    ...WHOAMI,
    warmupMs: ctx.warmupMs,
    durationMs: window,
    maxRequests: 5_000_000,
    startDelayMs: delay,
    realtime: true,
  });
  try {
    const quietRun = await runLoad([bystanders(0)]);
    const quiet = summarise(quietRun.results);
    // The storm ramps up for 1 s before the bystanders start and outlasts them; its logins
    // are counted inside the bystanders' measured window only (before, the whole span was,
    // and the storm alone on the generator's core for 2 s of it inflated its rate).
    const storm = (port: number): AuthTask[] =>
      [0, 1].map(() => ({
        mode: 'auth',
        port,
        path: `/${ctx.circle}`,
        parallel: parallel / 2,
        warmupMs: 1000 + ctx.warmupMs,
        durationMs: window,
        maxRequests: 1_000_000,
        nice: 10,
      }));
    let serverCpu0 = 0;
    let t0 = 0;
    const run = await runLoad([bystanders(1000), ...storm(server.port)], () => {
      serverCpu0 = cpuMs(server.pid);
      t0 = performance.now();
      return Promise.resolve();
    });
    const serverCpuPct = ((cpuMs(server.pid) - serverCpu0) / (performance.now() - t0)) * 100;
    const loud = summarise(run.results.slice(0, 1));
    const logins = summarise(run.results.slice(1));
    const quietClient = clientCpu(quietRun.results);
    const loudClient = clientCpu(run.results.slice(0, 1));
    const stormClient = clientCpu(run.results.slice(1));
    // Control: the same storm aimed at a second server on the same core. What the bystanders
    // lose then is the machine's (two cores: generator threads and servers share them), not
    // the first server's unfairness.
    const other = await startCircles(ctx, 'f-circles-other');
    let control;
    try {
      control = summarise((await runLoad([bystanders(1000), ...storm(other.port)])).results.slice(0, 1));
    } finally {
      await other.stop();
    }
    const ratio = loud.p99Us / quiet.p99Us;
    const row: Row = {
      scenario: `(f) bystander whoami p99 under a ${parallel}-way login storm vs quiet`,
      ours: ms(loud.p99Us),
      baseline: ms(quiet.p99Us),
      unit: 'ms',
      ratio,
      target: '≤ 2.00, throughput ≥ 0.7 × quiet, storm ≥ 1,000 logins/s',
      met: ratio <= 2 && loud.rate >= 0.7 * quiet.rate && logins.rate >= 1000 && loud.errors === 0,
      detail: {
        'storm logins/s': Math.round(logins.rate),
        'storm p50 login ms': Number(ms(logins.p50Us).toFixed(0)),
        'bystander p50 ms quiet/storm': `${ms(quiet.p50Us).toFixed(2)}/${ms(loud.p50Us).toFixed(2)}`,
        'bystander msg/s quiet/storm': `${Math.round(quiet.rate)}/${Math.round(loud.rate)}`,
        'throughput storm/quiet': Number((loud.rate / quiet.rate).toFixed(2)),
        'control: storm at another server, bystander p99 ms': Number(ms(control.p99Us).toFixed(2)),
        'control p99 / quiet': Number((control.p99Us / quiet.p99Us).toFixed(2)),
        'control msg/s': Math.round(control.rate),
        'generator CPU %': Math.round(run.genCpuPct),
        // Where the generator's core went: the bystanders' client (SCHED_FIFO) first, the
        // storm's client gets the rest. When the two add up to the whole core, the storm's
        // rate is the generator's limit, not the server's.
        'generator core: bystander client % quiet/storm': `${pct(quietClient)}/${pct(loudClient)}`,
        'generator core: storm client %': pct(stormClient),
        'storm client µs/login': Math.round((stormClient.cpuMs * 1000) / Math.max(1, logins.count)),
        'server CPU % during the storm': Math.round(serverCpuPct),
        // The generator's core is full: the storm's rate here is the machine's limit.
        'generator-bound': pct(loudClient) + pct(stormClient) >= 90,
      },
    };
    ctx.emit(row);
    return [row];
  } finally {
    await server.stop();
  }
}

/** CPU the given generator threads spent inside their windows, and the window (the longest). */
function clientCpu(results: LoadResult[]): { cpuMs: number; elapsedMs: number } {
  return {
    cpuMs: results.reduce((sum, r) => sum + (r.cpuMs ?? NaN), 0),
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
  };
}

const pct = (c: { cpuMs: number; elapsedMs: number }): number => Math.round((c.cpuMs / c.elapsedMs) * 100);
