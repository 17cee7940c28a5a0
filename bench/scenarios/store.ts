/**
 * (g) The circle store through `play`, on both backends (embedded launcher; Redis server +
 * workers):
 *  1. cost vs store size: `store_get("k7")` one play at a time on a circle filled to 10,000
 *     and 100,000 keys, interleaved with the same play on an empty circle of the same server
 *     (the store reads keys on demand, so the size should not show);
 *  2. throughput: 64 sessions × 1 play in flight of a read-modify-write on distinct keys and
 *     on one contended key, against plays that do not touch the store (run before and after,
 *     the faster being the baseline); then the counters are read back to check that no
 *     answered increment was lost.
 * The clients are `ws` sessions in this (generator-pinned) process: each connection needs its
 * own script, which the load-generator threads' fixed request text cannot give.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { publicKeyOf } from '../../auth/personal-sign';
import { ANY_CPU, startNode, type Child } from '../procs';
import type { Row } from '../report';
import { startCircles, type BenchContext } from './context';

const say = (s: string): boolean => process.stderr.write(`  ${s}\n`);
const ms = (us: number): number => Number((us / 1000).toFixed(2));
const freshCircle = (): string =>
  publicKeyOf(Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex'));

// ---------------------------------------------------------------------------------------------
// A JSON-RPC session that plays scripts.

interface RpcError {
  code: number;
  message: string;
  data?: { error?: string };
}
interface Answer {
  output?: string;
  error?: RpcError;
}

/** Longer than the server's 30 s play timeout, so a stuck play shows as the server's -32003. */
const ANSWER_TIMEOUT_MS = 40_000;

class Session {
  private nextId = 1;
  private readonly waiting = new Map<number, (a: Answer) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString()) as { id: number; result?: { output: string }; error?: RpcError };
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m.error ? { error: m.error } : { output: m.result?.output });
    });
    ws.on('error', () => undefined); // 'close' follows and fails what is waiting
    ws.on('close', () => {
      for (const done of this.waiting.values()) done({ error: { code: 0, message: 'socket closed' } });
      this.waiting.clear();
    });
  }

  static open(url: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Session(ws)));
      ws.once('error', reject);
    });
  }

  play(script: string): Promise<Answer> {
    if (this.ws.readyState !== WebSocket.OPEN)
      return Promise.resolve({ error: { code: 0, message: 'socket closed' } });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ error: { code: 0, message: 'no answer' } });
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'play', params: { script } }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Groups errors: retry-exhausted conflicts by their text, everything else by code + message. */
function errorKind(e: RpcError): string {
  const text = e.data?.error ?? e.message;
  return text.startsWith('Circle store conflict') ? `${e.code} conflict` : `${e.code} ${e.message}`;
}

function describe(errors: Map<string, number>): string {
  return errors.size === 0 ? '0' : [...errors].map(([k, n]) => `${n}× ${k}`).join('; ');
}

const total = (errors: Map<string, number>): number => [...errors.values()].reduce((a, b) => a + b, 0);

function percentile(sortedUs: number[], p: number): number {
  if (sortedUs.length === 0) return NaN;
  return sortedUs[Math.min(sortedUs.length - 1, Math.ceil((p / 100) * sortedUs.length) - 1)]!;
}

// ---------------------------------------------------------------------------------------------
// The processes under test.

interface Stack {
  /** ws://host:port of the server; sessions add `/<circle>`. */
  url: string;
  stop(): Promise<void>;
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.allSettled(children.map((c) => c.stop()));
}

/** The launcher on its embedded database, in a fresh data directory removed on stop. */
async function embeddedStack(name: string, circles: string[]): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-bench-g-'));
  const removeDir = (): void => fs.rmSync(dir, { recursive: true, force: true });
  let launcher: Child;
  try {
    launcher = await startNode(
      name,
      'cmd/circles-launcher.js',
      [...circles.flatMap((k) => ['-k', k]), '--data-dir', dir, '--port', '0', '--log-level', 'warn'],
      /listening on (ws:\/\/\S+)/,
      // Server and script threads share the process: unpinned, like the Redis workers.
      { cpus: ANY_CPU },
    );
  } catch (err) {
    removeDir();
    throw err;
  }
  return {
    url: launcher.ready,
    async stop() {
      await launcher.stop();
      removeDir();
    },
  };
}

/** circles-server (pinned like every server of the bench) + `workers` circles-worker processes. */
async function redisStack(
  ctx: BenchContext,
  name: string,
  circles: string[],
  workers: number,
): Promise<Stack> {
  const ks = circles.flatMap((k) => ['-k', k]);
  const server = await startCircles(ctx, `${name}-circles`, ks);
  const children: Child[] = [server];
  try {
    for (let i = 0; i < workers; i++) {
      const args = [...ks, '--redis-url', ctx.redisUrl, '--worker-id', `${name}-${i}`, '--log-level', 'warn'];
      children.push(
        await startNode(`${name}-worker${i}`, 'cmd/circles-worker.js', args, /worker ready/, {
          cpus: ANY_CPU,
        }),
      );
    }
  } catch (err) {
    await stopAll(children);
    throw err;
  }
  return { url: server.ready, stop: () => stopAll(children) };
}

async function withStack<T>(start: Promise<Stack>, run: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await start;
  try {
    return await run(stack);
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Part 1: cost of a one-key play vs the size of the store.

const VALUE = 'v'.repeat(90); // + the key number: ~95-byte values
const FILL_BATCH = 1000;
const FILL_INFLIGHT = 4; // disjoint key ranges and no reads: fill plays never conflict
const SIZES = [0, 10_000, 100_000];
const READ = 'store_get("k7")';

interface SizeResult {
  size: number;
  /** Latencies (µs, sorted) on the filled circle and on the empty one. */
  full: number[];
  empty: number[];
  fillS: number;
}

async function fill(s: Session, from: number, to: number): Promise<void> {
  const starts: number[] = [];
  for (let k = from; k < to; k += FILL_BATCH) starts.push(k);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < starts.length) {
      const a = starts[next++]!;
      const b = Math.min(a + FILL_BATCH, to);
      const r = await s.play(`for i in ${a}..${b} { store_set("k" + i, "${VALUE}" + i) }`);
      if (r.error) throw new Error(`fill play k${a}..k${b} failed: ${JSON.stringify(r.error)}`);
    }
  };
  await Promise.all(Array.from({ length: FILL_INFLIGHT }, lane));
}

async function timedRead(s: Session, expect: string): Promise<number> {
  const t0 = performance.now();
  const r = await s.play(READ);
  const us = (performance.now() - t0) * 1000;
  if (r.error || r.output !== expect)
    throw new Error(`${READ} answered ${JSON.stringify(r)}, not "${expect}"`);
  return us;
}

/** One play in flight, alternating circles (and which goes first) so both see the same machine. */
async function readPair(ctx: BenchContext, full: Session, empty: Session, size: number) {
  const warm = ctx.quick ? 10 : 30;
  const count = ctx.quick ? 100 : 300;
  const deadline = performance.now() + (ctx.quick ? 20_000 : 60_000);
  const expectFull = size > 7 ? `${VALUE}7` : ''; // `()` prints as ""
  const out = { full: [] as number[], empty: [] as number[] };
  for (let i = 0; i < warm + count && performance.now() < deadline; i++) {
    let f: number;
    let e: number;
    if (i % 2 === 0) {
      f = await timedRead(full, expectFull);
      e = await timedRead(empty, '');
    } else {
      e = await timedRead(empty, '');
      f = await timedRead(full, expectFull);
    }
    if (i < warm) continue;
    out.full.push(f);
    out.empty.push(e);
  }
  out.full.sort((a, b) => a - b);
  out.empty.sort((a, b) => a - b);
  return out;
}

async function costVsSize(ctx: BenchContext, stack: Stack, circles: string[], backend: string) {
  const [full, empty] = await Promise.all(circles.map((k) => Session.open(`${stack.url}/${k}`)));
  const results: SizeResult[] = [];
  try {
    let filled = 0;
    for (const size of SIZES) {
      const t0 = performance.now();
      await fill(full!, filled, size);
      const fillS = (performance.now() - t0) / 1000;
      filled = size;
      const r = { size, fillS, ...(await readPair(ctx, full!, empty!, size)) };
      results.push(r);
      say(
        `${backend} ${size.toLocaleString('en-US')} keys (filled in ${fillS.toFixed(1)} s): ` +
          `p50 ${ms(percentile(r.full, 50))}/${ms(percentile(r.empty, 50))} ms, ` +
          `p99 ${ms(percentile(r.full, 99))}/${ms(percentile(r.empty, 99))} ms (filled/empty, ${r.full.length} plays)`,
      );
    }
  } finally {
    full!.close();
    empty!.close();
  }
  return results;
}

function sizeRows(ctx: BenchContext, results: SizeResult[], backend: string): void {
  const at = (n: number): SizeResult => results.find((r) => r.size === n)!;
  const p = (r: SizeResult, which: 'full' | 'empty', q: number): number => ms(percentile(r[which], q));
  const [zero, tenK, hundredK] = [at(0), at(10_000), at(100_000)];
  const row = (r: SizeResult, key: boolean): Row => {
    const ratio = percentile(r.full, 50) / percentile(r.empty, 50);
    return {
      scenario: `(g) one-key store play, ${r.size.toLocaleString('en-US')} keys vs empty store, ${backend}`,
      ours: p(r, 'full', 50),
      baseline: p(r, 'empty', 50),
      unit: 'ms',
      ratio,
      target: key ? '≤ 2' : '',
      met: key ? ratio <= 2 : undefined,
      detail: {
        'p99 ms filled/empty': `${p(r, 'full', 99)}/${p(r, 'empty', 99)}`,
        ...(key
          ? {
              '10k keys p50 ms filled/empty': `${p(tenK, 'full', 50)}/${p(tenK, 'empty', 50)}`,
              '0 keys p50 ms': p(zero, 'full', 50),
            }
          : {}),
        plays: r.full.length,
        'fill s': Number(r.fillS.toFixed(1)),
      },
    };
  };
  ctx.emit(row(tenK, false));
  ctx.emit(row(hundredK, true));
}

// ---------------------------------------------------------------------------------------------
// Part 2: closed-loop throughput of store plays.

const CONNS = 64;
const MAX_PLAYS_PER_CONN = 1_000_000;
const NO_STORE = 'let n = 40; n + 2';
const increment = (key: string): string =>
  `let n = store_get("${key}"); let m = if n == () { 1 } else { n + 1 }; store_set("${key}", m); m`;

interface LoadStats {
  /** Successful plays completed inside the window, per second. */
  rate: number;
  p50Us: number;
  p99Us: number;
  /** Successful plays over the whole loop (warm-up and tail included). */
  ok: number;
  errors: Map<string, number>;
  /** This process's CPU over the loop, % of one core: the driver must not be the limit. */
  genCpuPct: number;
}

/** `CONNS` sessions, each playing `scriptOf(i)` one at a time through warm-up + window. */
async function closedLoop(
  timing: { warmupMs: number; durationMs: number },
  url: string,
  scriptOf: (i: number) => string,
): Promise<LoadStats> {
  const sessions = await Promise.all(Array.from({ length: CONNS }, () => Session.open(url)));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const from = t0 + timing.warmupMs;
  const until = from + timing.durationMs;
  const latUs: number[] = [];
  const errors = new Map<string, number>();
  let ok = 0;
  try {
    await Promise.all(
      sessions.map(async (s, i) => {
        const script = scriptOf(i);
        for (let n = 0; n < MAX_PLAYS_PER_CONN && performance.now() < until; n++) {
          const start = performance.now();
          const r = await s.play(script);
          const end = performance.now();
          if (r.error) {
            const kind = errorKind(r.error);
            errors.set(kind, (errors.get(kind) ?? 0) + 1);
            continue;
          }
          ok++;
          if (end >= from && end <= until) latUs.push((end - start) * 1000);
        }
      }),
    );
  } finally {
    sessions.forEach((s) => s.close());
  }
  const cpu = process.cpuUsage(cpu0);
  latUs.sort((a, b) => a - b);
  return {
    rate: latUs.length / (timing.durationMs / 1000),
    p50Us: percentile(latUs, 50),
    p99Us: percentile(latUs, 99),
    ok,
    errors,
    genCpuPct: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
  };
}

/** One play's output as an integer (`()` → 0). */
async function readInt(url: string, script: string): Promise<number> {
  const s = await Session.open(url);
  try {
    const r = await s.play(script);
    if (r.error) throw new Error(`${script} failed: ${JSON.stringify(r.error)}`);
    return r.output === '' ? 0 : Number(r.output);
  } finally {
    s.close();
  }
}

interface Throughput {
  /** (i) before and after (ii) and (iii): how far the machine drifted meanwhile. */
  baseBefore: LoadStats;
  baseAfter: LoadStats;
  distinct: LoadStats;
  hot: LoadStats;
  /** Successful increments minus what the store holds afterwards (must be 0). */
  lostDistinct: number;
  lostHot: number;
}

async function throughput(
  ctx: BenchContext,
  stack: Stack,
  circle: string,
  label: string,
): Promise<Throughput> {
  const url = `${stack.url}/${circle}`;
  const line = (name: string, s: LoadStats): boolean =>
    say(
      `${label} ${name}: ${Math.round(s.rate)}/s p50 ${ms(s.p50Us)} p99 ${ms(s.p99Us)} ms, ` +
        `${s.ok} ok, errors ${describe(s.errors)}, generator CPU ${Math.round(s.genCpuPct)} %`,
    );
  // Fresh processes keep speeding up for seconds (JIT of server, worker and script threads;
  // rates climbed for ~5 s in trials): run every path first, on keys the measurements do not use.
  const warm = { warmupMs: 0, durationMs: ctx.quick ? 1000 : 3000 };
  await closedLoop(warm, url, () => NO_STORE);
  await closedLoop(warm, url, (i) => increment(`w${i}`));
  await closedLoop(warm, url, () => increment('w'));
  const baseBefore = await closedLoop(ctx, url, () => NO_STORE);
  line('no store', baseBefore);
  const distinct = await closedLoop(ctx, url, (i) => increment(`c${i}`));
  line('distinct keys', distinct);
  const hot = await closedLoop(ctx, url, () => increment('hot'));
  line('one key', hot);
  const baseAfter = await closedLoop(ctx, url, () => NO_STORE);
  line('no store again', baseAfter);
  // Every answered increment committed exactly one +1 (a conflict that gave up wrote nothing).
  const sumC = await readInt(
    url,
    `let t = 0; for i in 0..${CONNS} { let v = store_get("c" + i); if v != () { t += v } } t`,
  );
  const finalHot = await readInt(url, 'store_get("hot")');
  say(`${label} counters: c* sum ${sumC} vs ${distinct.ok} increments, hot ${finalHot} vs ${hot.ok}`);
  return {
    baseBefore,
    baseAfter,
    distinct,
    hot,
    lostDistinct: distinct.ok - sumC,
    lostHot: hot.ok - finalHot,
  };
}

function throughputRows(ctx: BenchContext, t: Throughput, distinctName: string, hotName: string): void {
  // The faster (i) run is the baseline: drift during the run must not flatter the ratio.
  const base = t.baseBefore.rate >= t.baseAfter.rate ? t.baseBefore : t.baseAfter;
  const baseErrors = total(t.baseBefore.errors) + total(t.baseAfter.errors);
  const detail = (s: LoadStats, lost: number): Row['detail'] => ({
    'p50 ms': ms(s.p50Us),
    'p99 ms': ms(s.p99Us),
    'lost updates': lost,
    errors: describe(s.errors),
    'no-store /s before/after': `${Math.round(t.baseBefore.rate)}/${Math.round(t.baseAfter.rate)}`,
    'no-store p50/p99 ms': `${ms(base.p50Us)}/${ms(base.p99Us)}`,
    'no-store errors': baseErrors,
    'generator CPU %': Math.round(s.genCpuPct),
  });
  const distinctRatio = t.distinct.rate / base.rate;
  ctx.emit({
    scenario: distinctName,
    ours: t.distinct.rate,
    baseline: base.rate,
    unit: '/s',
    ratio: distinctRatio,
    target: '≥ 0.5',
    met: distinctRatio >= 0.5 && t.lostDistinct === 0 && total(t.distinct.errors) === 0 && baseErrors === 0,
    detail: detail(t.distinct, t.lostDistinct),
  });
  ctx.emit({
    scenario: hotName,
    ours: t.hot.rate,
    baseline: base.rate,
    unit: '/s',
    ratio: t.hot.rate / base.rate,
    target: '',
    detail: detail(t.hot, t.lostHot),
  });
}

// ---------------------------------------------------------------------------------------------

export async function runStore(ctx: BenchContext): Promise<void> {
  // Fresh circles per stack: Redis is shared by the whole bench run.
  const pair = (): string[] => [freshCircle(), freshCircle()];

  let circles = pair();
  const embedded = await withStack(embeddedStack('g-launcher', circles), (s) =>
    costVsSize(ctx, s, circles, 'embedded'),
  );
  sizeRows(ctx, embedded, 'embedded');

  circles = pair();
  const redis = await withStack(redisStack(ctx, 'g-size', circles, 1), (s) =>
    costVsSize(ctx, s, circles, 'Redis + 1 worker'),
  );
  sizeRows(ctx, redis, 'Redis + 1 worker');

  let circle = freshCircle();
  const onRedis = await withStack(redisStack(ctx, 'g-rate', [circle], 2), (s) =>
    throughput(ctx, s, circle, 'Redis, 2 workers,'),
  );
  throughputRows(
    ctx,
    onRedis,
    '(g) store plays, distinct keys, 2 workers (Redis)',
    '(g) store plays, one contended key, 2 workers (Redis)',
  );

  circle = freshCircle();
  const onEmbedded = await withStack(embeddedStack('g-launcher-rate', [circle]), (s) =>
    throughput(ctx, s, circle, 'embedded,'),
  );
  throughputRows(
    ctx,
    onEmbedded,
    '(g) store plays, distinct keys (embedded)',
    '(g) store plays, one contended key (embedded)',
  );
}
