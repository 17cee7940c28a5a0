/**
 * The launcher (server + one worker in one process):
 * (c0) where one play's time goes: `--trace-plays` stage times, 1 × 1 and 128 × 1, on Redis;
 * (c2) on Redis, the whole process on one core, 128 plays in flight, against the raw Redis task
 *      loop of (c) with its consumer on that same core;
 * (c3) on its embedded default, 128 × 1 and 1 × 1 plays, against the uWS JSON-RPC echo;
 * (h)  start-up time, idle RSS and threads at 2, 20 and 200 circles, then one play on the 200.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CirclesClient } from '../../client/circles-client';
import type { PlayBreakdown } from '../../play-trace';
import { publicKeyOf } from '../../auth/personal-sign';
import { type LoadSummary } from '../load-generator';
import { ANY_CPU, cpusOf, rssKiB, SERVER_CPU, startNode } from '../procs';
import type { Row } from '../report';
import { measureRpc, ms, startBaseline, type BenchContext, type Measured, type Server } from './context';
import { rawRedis, type RawRedisRun } from './play';

const PLAY = { prefix: '{"jsonrpc":"2.0","id":', suffix: ',"method":"play","params":{"script":"40 + 2"}}' };
// The trailing newline matters: the 200-row table arrives in several chunks, and without it a
// URL cut at a chunk boundary would match.
const LISTENING = /listening on (ws:\/\/\S+)\n/;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const say = (s: string): boolean => process.stderr.write(`${s}\n`);
const round2 = (us: number): number => Number(ms(us).toFixed(2));

/** A fresh circle key, as main.ts makes its own: a circle nobody else in the run touched. */
function newCircle(): string {
  return publicKeyOf(Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex'));
}

/** Thread count of a process (`Threads:` of /proc/<pid>/status). */
function threadsOf(pid: number): number {
  const m = /Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Runs `fn` with a fresh data directory, removed afterwards (the launcher is stopped first). */
async function withDataDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-bench-data-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface LaunchSpec {
  name: string;
  circles: string[];
  /** Backend flags: `--redis-url <url>` or `--data-dir <dir>`. */
  backend: string[];
  cpus: string;
  profile?: boolean;
  timeoutMs?: number;
}

/** Starts dist/cmd/circles-launcher.js (under taskset when `cpus` is set: threads inherit it). */
async function startLauncher(ctx: BenchContext, spec: LaunchSpec): Promise<Server> {
  const nodeArgs =
    spec.profile && ctx.profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.profileDir, spec.name)}`]
      : [];
  const child = await startNode(
    spec.name,
    'cmd/circles-launcher.js',
    [...spec.circles.flatMap((pk) => ['-k', pk]), '--port', '0', '--log-level', 'warn', ...spec.backend],
    LISTENING,
    { cpus: spec.cpus, nodeArgs, timeoutMs: spec.timeoutMs },
  );
  return { ...child, port: Number(/:(\d+)$/.exec(child.ready)![1]) };
}

/** Starts a launcher, runs `fn` on it, always stops it. */
async function withLauncher<T>(
  ctx: BenchContext,
  spec: LaunchSpec,
  fn: (s: Server) => Promise<T>,
): Promise<T> {
  const server = await startLauncher(ctx, spec);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

function logPlay(label: string, m: LoadSummary): void {
  say(
    `  ${label}: ${Math.round(m.rate)}/s p50 ${ms(m.p50Us).toFixed(2)} p99 ${ms(m.p99Us).toFixed(2)} ms errors ${m.errors}`,
  );
}

// ---------------------------------------------------------------- (c2) launcher + Redis, one core

type RawRun = RawRedisRun;

/** The raw Redis task loop of (c) (generator producer, batched consumer), consumer on SERVER_CPU. */
function rawRedisOneCore(ctx: BenchContext, inflight: number): Promise<RawRun> {
  return rawRedis(ctx, inflight, { cpus: SERVER_CPU, name: 'c2-redis-consumer' });
}

/** The run with the median rate of several (the machine is shared and drifts). */
function median<T extends { rate: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)]!;
}

export async function runLauncherRedis(ctx: BenchContext): Promise<Row[]> {
  const n = 128;
  const rounds = ctx.quick ? 1 : 3;
  const circle = newCircle(); // not (c)'s circle: nothing left over from (c) in its queues
  const spec = { name: 'c2-launcher', circles: [circle], backend: ['--redis-url', ctx.redisUrl] };
  const raws: RawRun[] = [];
  const ours: Measured[] = [];
  let threads = NaN;
  // Raw loop and launcher alternate, round by round, so each pair sits close in time; the
  // consumer gets the single core to itself while it runs (the idle launcher waits on Redis).
  await withLauncher(ctx, { ...spec, cpus: SERVER_CPU, profile: true }, async (s) => {
    for (let r = 0; r < rounds; r++) {
      const raw = await rawRedisOneCore(ctx, n);
      raws.push(raw);
      logPlay(`raw redis ${n} in flight, consumer on CPU ${raw.consumerCpus}`, raw);
      const m = await measureRpc(ctx, s, n, 1, PLAY, `/${circle}`);
      ours.push(m);
      threads = threadsOf(s.pid);
      logPlay(`launcher ${n} sessions × 1, ${threads} threads on CPU ${cpusOf(s.pid)}`, m);
    }
  });
  const raw = median(raws);
  const m = median(ours);
  const ratio = m.rate / raw.rate;
  const row: Row = {
    scenario: `(c2) launcher + Redis, one core, ${n} sessions × 1 play vs raw Redis loop on the same core`,
    ours: m.rate,
    baseline: raw.rate,
    unit: '/s',
    ratio,
    target: '≥ 0.50',
    met: ratio >= 0.5 && m.errors === 0,
    detail: {
      'p50 ms': round2(m.p50Us),
      'p99 ms': round2(m.p99Us),
      'raw p50 ms': round2(raw.p50Us),
      'raw p99 ms': round2(raw.p99Us),
      'launcher µs/play': Number(m.serverUsPerOp.toFixed(1)),
      'launcher CPU %': Math.round(m.serverCpuPct),
      'launcher kernel share %': Math.round(m.serverKernelPct),
      'consumer CPU %': Math.round(raw.consumerCpuPct),
      'launcher threads': threads,
      errors: m.errors,
      'generator CPU %': Math.round(m.genCpuPct),
    },
  };
  ctx.emit(row);
  return [row];
}

// ---------------------------------------------------------------- (c0) one play's stages

/**
 * The launcher on Redis, its process on one core, with `--trace-plays`: each stage of each
 * play timed on the process's one clock, at 1 and at 128 plays in flight. The row's `ours`
 * is the p50 from the session's accept to its answer; `baseline` the client's p50 round trip
 * (the rest is the frame's way in and out: the generator, the socket, the actor turn that
 * parses it). Each step's p50 (µs) is in the details.
 */
export async function runPlayStages(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const conns of [1, 128]) {
    const circle = newCircle();
    const file = path.join(os.tmpdir(), `circles-bench-trace-${process.pid}-${conns}.json`);
    const spec = {
      name: `c0-launcher-${conns}`,
      circles: [circle],
      backend: ['--redis-url', ctx.redisUrl, '--trace-plays', file],
      cpus: SERVER_CPU,
    };
    const m = await withLauncher(ctx, spec, (s) => measureRpc(ctx, s, conns, 1, PLAY, `/${circle}`));
    let b: PlayBreakdown;
    try {
      b = JSON.parse(fs.readFileSync(file, 'utf8')) as PlayBreakdown;
    } finally {
      fs.rmSync(file, { force: true });
    }
    logPlay(`launcher ${conns} × 1 traced`, m);
    const detail: Row['detail'] = { plays: b.plays, 'client p99 ms': round2(m.p99Us) };
    for (const step of b.steps) detail[`${step.from}→${step.to} p50 µs`] = Math.round(step.p50Us);
    detail['accept→answer p99 µs'] = Math.round(b.total.p99Us);
    const row: Row = {
      scenario: `(c0) one play's stages, launcher + Redis on one core, ${conns} × 1: accept → answer p50 vs client round trip p50`,
      ours: round2(b.total.p50Us),
      baseline: round2(m.p50Us),
      unit: 'ms',
      ratio: b.total.p50Us / m.p50Us,
      target: '',
      detail,
    };
    ctx.emit(row);
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------- (c3) launcher, embedded default

export async function runLauncherEmbedded(ctx: BenchContext): Promise<Row[]> {
  const levels = [128, 1];
  const circle = newCircle();
  const ours = new Map<number, Measured>();
  const echo = new Map<number, Measured>();
  await withDataDir(async (dir) => {
    // Both on SERVER_CPU and both up for the whole phase (an idle one costs nothing), so each
    // level's two runs sit next to each other in time.
    const base = await startBaseline('c3-uws-jsonrpc', 'bench/baselines/uws-echo.js', ['jsonrpc']);
    try {
      await withLauncher(
        ctx,
        {
          name: 'c3-launcher',
          circles: [circle],
          backend: ['--data-dir', dir],
          cpus: SERVER_CPU,
          profile: true,
        },
        async (s) => {
          for (const n of levels) {
            echo.set(n, await measureRpc(ctx, base, n, 1, PLAY, `/${circle}`));
            logPlay(`uWS JSON-RPC echo ${n} × 1`, echo.get(n)!);
            ours.set(n, await measureRpc(ctx, s, n, 1, PLAY, `/${circle}`));
            logPlay(`launcher (embedded) ${n} sessions × 1`, ours.get(n)!);
          }
        },
      );
    } finally {
      await base.stop();
    }
  });
  return levels.map((n) => {
    const o = ours.get(n)!;
    const b = echo.get(n)!;
    const row: Row = {
      scenario: `(c3) play \`40 + 2\`, launcher embedded default, one core, ${n} session${n > 1 ? 's' : ''} × 1 vs uWS JSON-RPC echo`,
      ours: o.rate,
      baseline: b.rate,
      unit: '/s',
      ratio: o.rate / b.rate,
      target: '',
      detail: {
        'p50 ms': round2(o.p50Us),
        'p99 ms': round2(o.p99Us),
        'echo p50 ms': round2(b.p50Us),
        'echo p99 ms': round2(b.p99Us),
        'launcher µs/play': Number(o.serverUsPerOp.toFixed(1)),
        'launcher CPU %': Math.round(o.serverCpuPct),
        'launcher kernel share %': Math.round(o.serverKernelPct),
        errors: o.errors,
      },
    };
    ctx.emit(row);
    return row;
  });
}

// ---------------------------------------------------------------- (h) many circles

interface StartFigures {
  circles: number;
  startMs: number;
  rssKiB: number;
  threads: number;
  /** The one play's outcome (200 circles only): ms, or the error. */
  play?: { ok: true; ms: number } | { ok: false; error: string };
}

/** One play on `circle`; bounded by a timeout so a launcher that does not serve cannot hang us. */
async function playOnce(port: number, circle: string): Promise<StartFigures['play']> {
  const t0 = performance.now();
  const url = `ws://127.0.0.1:${port}/${circle}`;
  const client = new CirclesClient({ url, connectTimeoutMs: 10_000, reconnect: false, heartbeatMs: 0 });
  try {
    await client.connect();
    const r = await client.play('40 + 2', { timeoutMs: 10_000 });
    if (r.output !== '42') return { ok: false, error: `output ${JSON.stringify(r.output)}` };
    return { ok: true, ms: performance.now() - t0 };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await client.close();
  }
}

/** Spawn → `listening on`, then idle 2 s, then RSS and threads; a play too when asked. */
async function measureStart(ctx: BenchContext, count: number, play: boolean): Promise<StartFigures> {
  const circles = Array.from({ length: count }, newCircle);
  return withDataDir(async (dir) => {
    const t0 = performance.now();
    // Unpinned, as deployed: the pool sizes itself from the CPUs it may use.
    const spec = { name: `h-launcher-${count}`, circles, backend: ['--data-dir', dir], cpus: ANY_CPU };
    return withLauncher(ctx, { ...spec, timeoutMs: 60_000 }, async (s) => {
      const startMs = performance.now() - t0;
      await sleep(2000);
      const figures: StartFigures = {
        circles: count,
        startMs,
        rssKiB: rssKiB(s.pid),
        threads: threadsOf(s.pid),
      };
      if (play) figures.play = await playOnce(s.port, circles[count - 1]!);
      return figures;
    });
  });
}

function startRows(f: StartFigures, key: boolean): Row[] {
  const served = f.play === undefined ? undefined : f.play.ok;
  const playNote: NonNullable<Row['detail']> = {};
  if (f.play?.ok) playNote['play ms'] = Number(f.play.ms.toFixed(1));
  else if (f.play) playNote['play error'] = f.play.error;
  const mb = (f.rssKiB * 1024) / 1e6;
  return [
    {
      scenario: `(h) launcher, ${f.circles} circles (embedded): spawn → \`listening on\`${key ? ', then one play' : ''}`,
      ours: f.startMs,
      baseline: null,
      unit: 'ms',
      ratio: null,
      target: key ? '< 5 s, play served' : '',
      met: key ? f.startMs < 5000 && served === true : undefined,
      detail: { threads: f.threads, ...playNote },
    },
    {
      scenario: `(h) launcher, ${f.circles} circles (embedded): RSS after 2 s idle`,
      ours: mb,
      baseline: null,
      unit: 'MB',
      ratio: null,
      target: key ? '< 300 MB' : '',
      met: key ? mb < 300 : undefined,
      detail: { 'RSS KiB': f.rssKiB, threads: f.threads },
    },
  ];
}

export async function runManyCircles(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const count of [2, 20, 200]) {
    const key = count === 200;
    const f = await measureStart(ctx, count, key);
    say(
      `  ${count} circles: listening after ${f.startMs.toFixed(0)} ms, RSS ${(f.rssKiB / 1024).toFixed(1)} MiB, ${f.threads} threads` +
        (f.play
          ? `, play ${f.play.ok ? `ok in ${f.play.ms.toFixed(1)} ms` : `FAILED: ${f.play.error}`}`
          : ''),
    );
    for (const row of startRows(f, key)) {
      rows.push(row);
      ctx.emit(row);
    }
  }
  return rows;
}
