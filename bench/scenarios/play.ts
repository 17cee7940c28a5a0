/**
 * (c) `play` of `40 + 2` through Redis and a circles-worker at 1, 16 and 128 in flight (one
 * request per connection), against baseline (2): the raw Redis queue round trip at the same
 * concurrency, with a trivial consumer process, batched pops on both sides.
 */
import { runLoad, summarise, type LoadSummary } from '../load-generator';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ANY_CPU, cpuMs, cpusOf, startNode } from '../procs';
import type { Row } from '../report';
import { measureRpc, ms, startCircles, type BenchContext, type Measured } from './context';

const PLAY = { prefix: '{"jsonrpc":"2.0","id":', suffix: ',"method":"play","params":{"script":"40 + 2"}}' };
const LEVELS = [1, 16, 128];

/** The raw Redis task loop: figures, plus the consumer's CPU and the CPUs its threads may use. */
export type RawRedisRun = LoadSummary & {
  genCpuPct: number;
  consumerCpuPct: number;
  consumerCpus: string;
  redisCpuPct: number;
};

/** CPU of every process a request passes (generator included) per completed request, µs. */
const machineUsPerOp = (cpuPcts: readonly number[], rate: number): number =>
  (cpuPcts.reduce((a, b) => a + b, 0) / 100 / rate) * 1e6;

/**
 * Baseline (2): the raw Redis task round trip at `inflight`, the load generator producing and
 * a trivial consumer process (`cpus`: where it may run) answering, batched pops on both sides.
 */
export async function rawRedis(
  ctx: BenchContext,
  inflight: number,
  opts: { cpus: string; name: string } = { cpus: ANY_CPU, name: 'redis-consumer' },
): Promise<RawRedisRun> {
  const queue = `bench:${opts.name}:${inflight}`;
  const reply = `bench:${opts.name}-reply:${inflight}`;
  const consumer = await startNode(
    opts.name,
    'bench/baselines/redis-consumer.js',
    [ctx.redisUrl, queue, reply, '64'],
    /consumer ready/,
    { cpus: opts.cpus },
  );
  try {
    let cpu0 = 0;
    let redis0 = 0;
    let t0 = 0;
    const run = await runLoad(
      [
        {
          mode: 'redis',
          redisUrl: ctx.redisUrl,
          queue,
          replyQueue: reply,
          inflight,
          popBatch: 256,
          warmupMs: ctx.warmupMs,
          durationMs: ctx.durationMs,
          maxRequests: 10_000_000,
        },
      ],
      () => {
        cpu0 = cpuMs(consumer.pid);
        redis0 = cpuMs(ctx.redisPid);
        t0 = performance.now();
        return Promise.resolve();
      },
    );
    return {
      ...summarise(run.results),
      genCpuPct: run.genCpuPct,
      consumerCpuPct: ((cpuMs(consumer.pid) - cpu0) / (performance.now() - t0)) * 100,
      consumerCpus: cpusOf(consumer.pid),
      redisCpuPct: ((cpuMs(ctx.redisPid) - redis0) / (performance.now() - t0)) * 100,
    };
  } finally {
    await consumer.stop();
  }
}

export async function runPlay(ctx: BenchContext): Promise<Row[]> {
  const raw = new Map<number, Awaited<ReturnType<typeof rawRedis>>>();
  for (const n of LEVELS) {
    raw.set(n, await rawRedis(ctx, n));
    process.stderr.write(
      `  raw redis ${n} in flight: ${Math.round(raw.get(n)!.rate)}/s p99 ${ms(raw.get(n)!.p99Us).toFixed(2)} ms\n`,
    );
  }
  const server = await startCircles(ctx, 'c-circles');
  const worker = await startNode(
    'c-worker',
    'cmd/circles-worker.js',
    ['-k', ctx.circle, '--redis-url', ctx.redisUrl, '--log-level', 'warn'],
    /worker ready/,
    {
      cpus: ANY_CPU,
      // The worker is half of the play path: profile it alongside the server when asked.
      nodeArgs: ctx.profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.profileDir, 'c-worker')}`]
        : [],
    },
  );
  const ours = new Map<number, Measured>();
  const workerCpu = new Map<number, number>();
  const redisCpu = new Map<number, number>();
  try {
    for (const n of LEVELS) {
      const w0 = cpuMs(worker.pid);
      const r0 = cpuMs(ctx.redisPid);
      const t0 = performance.now();
      ours.set(n, await measureRpc(ctx, server, n, 1, PLAY, `/${ctx.circle}`));
      const wallMs = performance.now() - t0;
      workerCpu.set(n, ((cpuMs(worker.pid) - w0) / wallMs) * 100);
      redisCpu.set(n, ((cpuMs(ctx.redisPid) - r0) / wallMs) * 100);
      const m = ours.get(n)!;
      process.stderr.write(
        `  play ${n} in flight: ${Math.round(m.rate)}/s p50 ${ms(m.p50Us).toFixed(2)} p99 ${ms(m.p99Us).toFixed(2)} ms errors ${m.errors}\n`,
      );
    }
  } finally {
    await Promise.allSettled([server.stop(), worker.stop()]);
  }
  const rows: Row[] = [];
  for (const n of LEVELS) {
    const o = ours.get(n)!;
    const b = raw.get(n)!;
    const key = n === 128;
    const row: Row = {
      scenario: `(c) play \`40 + 2\`, ${n} in flight vs raw Redis round trip (BLMPOP batches)`,
      ours: o.rate,
      baseline: b.rate,
      unit: '/s',
      ratio: o.rate / b.rate,
      target: key ? '≥ 0.60, p99 < 20 ms' : '',
      met: key ? o.rate / b.rate >= 0.6 && o.p99Us < 20_000 && o.errors === 0 : undefined,
      detail: {
        'p50 ms': Number(ms(o.p50Us).toFixed(2)),
        'p99 ms': Number(ms(o.p99Us).toFixed(2)),
        'raw p50 ms': Number(ms(b.p50Us).toFixed(2)),
        'raw p99 ms': Number(ms(b.p99Us).toFixed(2)),
        'gateway µs/play': Number(o.serverUsPerOp.toFixed(1)),
        'gateway CPU %': Math.round(o.serverCpuPct),
        'gateway kernel share %': Math.round(o.serverKernelPct),
        'worker CPU %': Math.round(workerCpu.get(n)!),
        'Redis CPU % ours/raw': `${Math.round(redisCpu.get(n)!)}/${Math.round(b.redisCpuPct)}`,
        errors: o.errors,
        'generator CPU % ours/raw': `${Math.round(o.genCpuPct)}/${Math.round(b.genCpuPct)}`,
        // The whole machine's cost of one request: on 2 cores, what bounds the rate at load.
        'CPU µs/op, all processes, ours/raw': `${Math.round(
          machineUsPerOp([o.serverCpuPct, workerCpu.get(n)!, redisCpu.get(n)!, o.genCpuPct], o.rate),
        )}/${Math.round(machineUsPerOp([b.consumerCpuPct, b.redisCpuPct, b.genCpuPct], b.rate))}`,
      },
    };
    rows.push(row);
    ctx.emit(row);
  }
  return rows;
}
