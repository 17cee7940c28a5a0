/**
 * One load-generator thread (worker_threads entry). It connects first, reports `ready`,
 * waits for `go` so all threads measure the same window, runs one bounded loop (count and
 * time) and posts its histogram. See load-protocol.ts for the modes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { secp256k1 } from '@noble/curves/secp256k1';
import { createClient } from 'redis';
import { personalSign, publicKeyOf } from '../auth/personal-sign';
import { lowerThisThreadPriority } from '../threads/priority';
import { Histogram } from './histogram';
import { statCpuMs } from './proc-stat';
import type {
  AuthTask,
  FromWorker,
  IdleTask,
  LoadResult,
  LoadTask,
  RedisTask,
  RpcTask,
} from './load-protocol';
import { RawWs, responseId } from './raw-ws';

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
let release: () => void = () => undefined;
const go = new Promise<void>((r) => (release = r));
port.on('message', (m: { type: string }) => {
  if (m.type === 'go') release();
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** This thread's CPU time so far (user + system), ms; NaN where /proc/thread-self is not. */
function threadCpuMs(): number {
  try {
    const { userMs, sysMs } = statCpuMs('/proc/thread-self');
    return userMs + sysMs;
  } catch {
    return NaN;
  }
}

/** Tracks warm-up → measure → stop for one thread; stop also comes from the count cap. */
class Window {
  measuring = false;
  stopped = false;
  measureStart = 0;
  elapsedMs = 0;
  /** The thread's CPU inside the window, ms. */
  cpuMs = NaN;
  private cpuAtStart = NaN;
  private onStop: (() => void)[] = [];
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly t: { warmupMs: number; durationMs: number }) {}

  start(): void {
    this.timers.push(
      setTimeout(() => {
        this.measuring = true;
        this.measureStart = performance.now();
        this.cpuAtStart = threadCpuMs();
      }, this.t.warmupMs),
      setTimeout(() => this.stop(), this.t.warmupMs + this.t.durationMs),
    );
  }

  stop(): void {
    if (this.stopped) return;
    this.timers.forEach(clearTimeout);
    this.stopped = true;
    this.elapsedMs = this.measuring ? performance.now() - this.measureStart : 0;
    if (this.measuring) this.cpuMs = threadCpuMs() - this.cpuAtStart;
    this.measuring = false;
    this.onStop.forEach((f) => f());
  }

  stoppedPromise(): Promise<void> {
    return this.stopped ? Promise.resolve() : new Promise((r) => this.onStop.push(r));
  }
}

function result(
  w: Window,
  count: number,
  errors: number,
  hist: Histogram,
  elu0: ReturnType<typeof performance.eventLoopUtilization>,
): LoadResult {
  return {
    count,
    errors,
    elapsedMs: w.elapsedMs,
    hist: Array.from(hist.counts),
    elu: performance.eventLoopUtilization(elu0).utilization,
    ...(Number.isFinite(w.cpuMs) ? { cpuMs: w.cpuMs } : {}),
  };
}

async function runRpc(t: RpcTask): Promise<LoadResult> {
  const socks = await Promise.all(Array.from({ length: t.conns }, () => RawWs.connect(t.port, t.path)));
  post({ type: 'ready' });
  await go;
  if (t.startDelayMs) await sleep(t.startDelayMs);
  const elu0 = performance.eventLoopUtilization();
  const hist = new Histogram();
  const w = new Window(t);
  const sentAt = new Map<number, number>();
  let nextId = 1;
  let sent = 0;
  let count = 0;
  let errors = 0;
  let drained: () => void = () => undefined;

  const sendOne = (ws: RawWs): void => {
    if (w.stopped || ws.closed) return;
    if (sent >= t.maxRequests) {
      if (sentAt.size === 0) w.stop();
      return;
    }
    const id = nextId++;
    sent++;
    sentAt.set(id, performance.now());
    ws.send(t.prefix + id + t.suffix);
  };
  for (const ws of socks) {
    ws.onFrame = (buf, start, end) => {
      const { id, isError } = responseId(buf, start, end);
      const at = sentAt.get(id);
      if (at === undefined) return;
      sentAt.delete(id);
      if (w.measuring) {
        hist.record((performance.now() - at) * 1000);
        count++;
        if (isError) errors++;
      }
      if (w.stopped && sentAt.size === 0) drained();
      sendOne(ws);
    };
    ws.onClose = () => {
      if (!w.stopped) errors++;
    };
  }
  w.start();
  for (const ws of socks) for (let d = 0; d < t.depth; d++) sendOne(ws);
  await w.stoppedPromise();
  // Let what is in flight come back (bounded) so the server is quiet for the next scenario.
  if (sentAt.size > 0) await Promise.race([new Promise<void>((r) => (drained = r)), sleep(3000)]);
  socks.forEach((s) => s.close());
  return result(w, count, errors, hist, elu0);
}

/** Sequential request/response on one socket (auth flows), with a timeout. */
function ask(ws: RawWs, body: string, timeoutMs = 30_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    ws.onMessage = (text) => {
      clearTimeout(timer);
      resolve(JSON.parse(text));
    };
    ws.onClose = () => {
      clearTimeout(timer);
      reject(new Error('closed'));
    };
    ws.send(body);
  });
}

function newIdentity(): { sk: string; pk: string } {
  const sk = Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex');
  return { sk, pk: publicKeyOf(sk) };
}

/** One full login on a fresh session; resolves with the open, authenticated socket. */
async function login(port: number, path: string, id: { sk: string; pk: string }): Promise<RawWs> {
  const ws = await RawWs.connect(port, path);
  try {
    const n = await ask(
      ws,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'fetch_nonce', params: { pubkey: id.pk } }),
    );
    const nonce = n?.result?.nonce;
    if (typeof nonce !== 'string') throw new Error(`fetch_nonce: ${JSON.stringify(n?.error)}`);
    const sig = personalSign(nonce, id.sk);
    const a = await ask(
      ws,
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'authenticate', params: [id.pk, sig] }),
    );
    if (a?.result?.authenticated !== true) throw new Error(`authenticate: ${JSON.stringify(a?.error)}`);
    return ws;
  } catch (err) {
    ws.close();
    throw err;
  }
}

async function runAuth(t: AuthTask): Promise<LoadResult> {
  const ids = Array.from({ length: t.parallel }, newIdentity);
  post({ type: 'ready' });
  await go;
  if (t.startDelayMs) await sleep(t.startDelayMs);
  const elu0 = performance.eventLoopUtilization();
  const hist = new Histogram();
  const w = new Window(t);
  let started = 0;
  let count = 0;
  let errors = 0;
  let lastError = '';
  const loop = async (id: { sk: string; pk: string }): Promise<void> => {
    while (!w.stopped && started < t.maxRequests) {
      started++;
      const t0 = performance.now();
      try {
        const ws = await login(t.port, t.path, id);
        ws.close();
        if (w.measuring) {
          hist.record((performance.now() - t0) * 1000);
          count++;
        }
      } catch (err) {
        if (w.measuring) errors++;
        lastError = String(err);
        await sleep(5); // a refused burst should not spin
      }
    }
  };
  w.start();
  const loops = ids.map(loop);
  await Promise.race([Promise.all(loops).then(() => w.stop()), w.stoppedPromise()]);
  await Promise.race([Promise.all(loops), sleep(35_000)]);
  const r = result(w, count, errors, hist, elu0);
  if (lastError) r.note = lastError;
  return r;
}

async function runIdle(t: IdleTask): Promise<LoadResult> {
  const held: RawWs[] = [];
  const elu0 = performance.eventLoopUtilization();
  const hist = new Histogram();
  const deadline = performance.now() + t.timeoutMs;
  let next = 0;
  let failed = 0;
  const loop = async (): Promise<void> => {
    const id = newIdentity(); // one key per loop: identity does not matter, sessions do
    while (next < t.sessions && performance.now() < deadline) {
      next++;
      const t0 = performance.now();
      try {
        held.push(await login(t.port, t.path, id));
        hist.record((performance.now() - t0) * 1000);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: t.parallel }, loop));
  const alive = held.filter((s) => !s.closed).length;
  post({ type: 'ready', opened: alive, failed });
  await go;
  const stillAlive = held.filter((s) => !s.closed).length;
  held.forEach((s) => s.close());
  return {
    count: stillAlive,
    errors: failed + (alive - stillAlive),
    elapsedMs: 0,
    hist: Array.from(hist.counts),
    elu: performance.eventLoopUtilization(elu0).utilization,
    opened: alive,
  };
}

async function runRedis(t: RedisTask): Promise<LoadResult> {
  const producer = createClient({ url: t.redisUrl });
  const reader = createClient({ url: t.redisUrl });
  await Promise.all([producer.connect(), reader.connect()]);
  post({ type: 'ready' });
  await go;
  const elu0 = performance.eventLoopUtilization();
  const hist = new Histogram();
  const w = new Window(t);
  const sentAt = new Map<string, number>();
  let nextId = 1;
  let sent = 0;
  let count = 0;
  const push = (): void => {
    if (w.stopped) return;
    if (sent >= t.maxRequests) {
      if (sentAt.size === 0) w.stop();
      return;
    }
    const id = String(nextId++);
    sent++;
    sentAt.set(id, performance.now());
    void producer.lPush(t.queue, id).catch(() => undefined);
  };
  w.start();
  for (let i = 0; i < t.inflight; i++) push();
  const deadline = performance.now() + t.warmupMs + t.durationMs + 5000;
  // Replies come back in batches (BLMPOP COUNT popBatch): the fair ceiling the dispatcher also uses.
  while ((!w.stopped || sentAt.size > 0) && performance.now() < deadline) {
    const popped = (await reader.blmPop(1, t.replyQueue, 'RIGHT', { COUNT: t.popBatch })) as
      [string, string[]] | null;
    if (!popped) continue;
    const now = performance.now();
    for (const id of popped[1]) {
      const at = sentAt.get(id);
      if (at === undefined) continue;
      sentAt.delete(id);
      if (w.measuring) {
        hist.record((now - at) * 1000);
        count++;
      }
      push();
    }
  }
  w.stop();
  await Promise.allSettled([producer.close(), reader.close()]);
  return result(w, count, 0, hist, elu0);
}

/** SCHED_FIFO for this thread (see Timed.realtime); false where chrt is missing or refused. */
function raiseThisThreadToRealtime(): boolean {
  if (process.platform !== 'linux') return false;
  const tid = fs.readlinkSync('/proc/thread-self').split('/').pop()!;
  return spawnSync('chrt', ['-f', '-p', '1', tid]).status === 0;
}

async function main(): Promise<void> {
  const task = workerData as LoadTask;
  if ('nice' in task && task.nice) lowerThisThreadPriority(task.nice);
  if ('realtime' in task && task.realtime) raiseThisThreadToRealtime();
  let r: LoadResult;
  if (task.mode === 'rpc') r = await runRpc(task);
  else if (task.mode === 'auth') r = await runAuth(task);
  else if (task.mode === 'idle') r = await runIdle(task);
  else r = await runRedis(task);
  post({ type: 'done', result: r });
}

main().catch((err: unknown) =>
  post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
);
