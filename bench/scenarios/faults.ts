/**
 * (i) No answer lost under faults: 2 circles-server + 2 circles-worker on a persistent Redis
 * (AOF, fsync on every write), driven by `ws` sessions in this process so that every play's
 * task id and answer are recorded.
 *  1. Redis restarted 3 times (quick: 1) under 48 sessions × 1 play of `40 + 2` in flight:
 *     SIGTERM (Redis writes its AOF and exits), then started again on the same port and
 *     directory. After a grace period every play answered -32003 is looked up in Redis: a
 *     task that completed although its session was told "timeout" counts as a lost answer,
 *     whether it completed before the -32003 (its reply was not routed) or after it (the
 *     task was held up past the play timeout; the detail splits the two). -32004 (refused
 *     while Redis was down) is allowed; those whose task ran anyway are counted too.
 *  2. One of the two workers killed -9 while it holds tasks, under 16 sessions of ~200 ms
 *     plays: time from the kill until every task of its processing list has completed
 *     elsewhere (SPEC §4: liveness 10 s refreshed every 2 s, reclaim at least every 5 s).
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { ANY_CPU, freePort, startNode, startProcess, type Child } from '../procs';
import type { Row } from '../report';
import { startCircles, type BenchContext } from './context';

const say = (s: string): boolean => process.stderr.write(`  ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number): number => Number((ms / 1000).toFixed(1));

const TIMEOUT = -32003;
const UNAVAILABLE = -32004;
/** Code recorded for a play that got no answer at all (socket closed or client gave up). */
const NO_ANSWER = 0;
const OK = 1;

// ---------------------------------------------------------------------------------------------
// Sessions that record each play's task id and answer.

interface Played {
  /** OK, NO_ANSWER or the JSON-RPC error code. */
  code: number;
  /** `result.task_id`, or `error.data.task_id` (session.ts puts it in -32000/-32003/-32004). */
  taskId?: string;
  output?: string;
  /** Date.now() at the request and at the answer, to compare with the task hash's times. */
  sentAt: number;
  at: number;
}

type Reply = Omit<Played, 'sentAt'>;

interface Answer {
  id: number;
  result?: { output?: string; task_id?: string };
  error?: { code: number; data?: { task_id?: string } };
}

class Session {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(
    private readonly ws: WebSocket,
    private readonly answerTimeoutMs: number,
  ) {
    ws.on('message', (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString()) as Answer;
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(
        m.error
          ? { code: m.error.code, taskId: m.error.data?.task_id, at: Date.now() }
          : { code: OK, taskId: m.result?.task_id, output: m.result?.output, at: Date.now() },
      );
    });
    ws.on('error', () => undefined); // 'close' follows and fails what is waiting
    ws.on('close', () => {
      for (const done of this.waiting.values()) done({ code: NO_ANSWER, at: Date.now() });
      this.waiting.clear();
    });
  }

  static open(url: string, answerTimeoutMs: number): Promise<Session> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Session(ws, answerTimeoutMs)));
      ws.once('error', reject);
    });
  }

  play(script: string): Promise<Played> {
    const sentAt = Date.now();
    if (this.ws.readyState !== WebSocket.OPEN)
      return Promise.resolve({ code: NO_ANSWER, sentAt, at: sentAt });
    const id = this.nextId++;
    return new Promise((resolve) => {
      // Longer than the server's play timeout: a play the server forgot shows as NO_ANSWER.
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ code: NO_ANSWER, sentAt, at: Date.now() });
      }, this.answerTimeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve({ ...r, sentAt });
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'play', params: { script } }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** `count` sessions spread round-robin over `urls`. */
async function openSessions(urls: string[], count: number, answerTimeoutMs: number): Promise<Session[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => Session.open(urls[i % urls.length]!, answerTimeoutMs)),
  );
}

const MAX_PLAYS_PER_SESSION = 100_000;
/** After a -32004 a session pauses, as a real client would: spinning on refusals would only
 * load the 2-core machine that Redis, servers and workers share while Redis comes back. */
const REFUSED_PAUSE_MS = 50;

interface Load {
  readonly plays: Played[];
  /** Every session stops after its current play. */
  stop(): void;
  /** Settles once every session has its last play answered. */
  readonly done: Promise<void>;
}

/** Each session plays `script` one at a time until stopped, `hardLimitMs` passes or it gets no answer. */
function startLoad(sessions: Session[], script: string, hardLimitMs: number): Load {
  const plays: Played[] = [];
  let stopped = false;
  const deadline = performance.now() + hardLimitMs;
  const loop = async (s: Session): Promise<void> => {
    for (let n = 0; n < MAX_PLAYS_PER_SESSION && !stopped && performance.now() < deadline; n++) {
      const p = await s.play(script);
      plays.push(p);
      if (p.code === NO_ANSWER) return; // closed or broken: more plays would only spin
      if (p.code === UNAVAILABLE) await sleep(REFUSED_PAUSE_MS);
    }
  };
  const done = Promise.all(sessions.map(loop)).then(() => undefined);
  return {
    plays,
    stop: () => {
      stopped = true;
    },
    done,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes.

type Defer = (step: () => unknown) => void;

/** Runs `body`; then every deferred step, last first, even when `body` threw. */
async function withCleanup<T>(body: (defer: Defer) => Promise<T>): Promise<T> {
  const steps: (() => unknown)[] = [];
  try {
    return await body((step) => steps.push(step));
  } finally {
    for (const step of steps.reverse()) {
      await Promise.resolve()
        .then(step)
        .catch((err: unknown) => say(`cleanup step failed: ${String(err)}`));
    }
  }
}

/**
 * A redis-server that keeps its data across restarts (AOF, fsync on every write, no RDB), in
 * its own temp directory, on a fixed loopback port so clients reconnect to the same URL.
 */
class DurableRedis {
  private child: Child | undefined;
  private starts = 0;
  /** Date.now() of each restart's SIGTERM. */
  readonly stoppedAt: number[] = [];

  private constructor(
    private readonly name: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(name: string, defer: Defer): Promise<DurableRedis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-bench-i-'));
    const redis = new DurableRedis(name, dir, await freePort());
    defer(() => redis.close());
    await redis.up();
    return redis;
  }

  /** SIGTERM (Redis writes and fsyncs its AOF, then exits), then up again; ms it was away. */
  async restart(): Promise<number> {
    const t0 = performance.now();
    this.stoppedAt.push(Date.now());
    await this.child?.stop();
    await this.up();
    return performance.now() - t0;
  }

  private async up(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    const durable = ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
    // One log per start: a restart must not overwrite what the previous run said.
    this.child = await startProcess(
      `${this.name}-${this.starts++}`,
      'redis-server',
      [...args, ...durable],
      /Ready to accept connections/,
      { cpus: ANY_CPU },
    );
  }

  private async close(): Promise<void> {
    await this.child?.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Stack {
  /** Session URLs (`ws://.../<circle>`), one per server. */
  urls: string[];
  workers: Child[];
  workerIds: string[];
}

/** 2 circles-server (pinned like every server of the bench) + 2 circles-worker. */
async function startStack(
  ctx: BenchContext,
  name: string,
  redisUrl: string,
  playTimeoutMs: number,
  defer: Defer,
): Promise<Stack> {
  const stack: Stack = { urls: [], workers: [], workerIds: [] };
  for (let i = 0; i < 2; i++) {
    const server = await startCircles({ ...ctx, redisUrl }, `${name}-server${i}`, [
      '--play-timeout',
      String(playTimeoutMs),
    ]);
    defer(() => server.stop());
    stack.urls.push(`${server.ready}/${ctx.circle}`);
  }
  for (let i = 0; i < 2; i++) {
    const id = `${name}-w${i}`;
    const args = ['-k', ctx.circle, '--redis-url', redisUrl, '--worker-id', id, '--log-level', 'warn'];
    const worker = await startNode(`${name}-worker${i}`, 'cmd/circles-worker.js', args, /worker ready/, {
      cpus: ANY_CPU,
    });
    defer(() => worker.stop());
    stack.workers.push(worker);
    stack.workerIds.push(id);
  }
  return stack;
}

type Redis = ReturnType<typeof createClient>;

/** A plain client for looking at task hashes and lists. */
async function probe(url: string, defer: Defer): Promise<Redis> {
  const client: Redis = createClient({ url });
  client.on('error', () => undefined); // only used while Redis is up; a failed command throws
  await client.connect();
  defer(() => client.destroy());
  return client;
}

/** `status`, `updatedAt` and `createdAt` of each task hash (nulls when the hash is missing). */
async function taskStates(redis: Redis, taskIds: string[]): Promise<(string | null)[][]> {
  return Promise.all(
    taskIds.map((id) =>
      redis.sendCommand<(string | null)[]>(['HMGET', `rhailib:${id}`, 'status', 'updatedAt', 'createdAt']),
    ),
  );
}

const finished = (status: string | null | undefined): boolean => status === 'completed' || status === 'error';

// ---------------------------------------------------------------------------------------------
// Part 1: Redis restarts.

const RESTART_SESSIONS = 48;
const RESTART_PLAY_TIMEOUT_MS = 5000;
const RESTART_GAP_MS = 1000;
const QUICK_PLAY = '40 + 2';

/** Restarts Redis `times` times, each ~1 s after the previous is back; each outage in ms. */
async function restartRepeatedly(redis: DurableRedis, times: number): Promise<number[]> {
  const outages: number[] = [];
  for (let i = 0; i < times; i++) {
    await sleep(RESTART_GAP_MS);
    outages.push(await redis.restart());
    say(`redis restart ${i + 1}/${times}: away ${Math.round(outages[i]!)} ms`);
  }
  return outages;
}

/** When a task whose answer went wrong was asked for, queued, answered and finished. */
interface Timeline {
  kind: string;
  taskId: string;
  sentAt: number;
  createdAt: number;
  answeredAt: number;
  finishedAt: number;
}

interface Audit {
  /** -32003 answers whose task completed anyway: answers lost (split by when it completed). */
  lostBefore: number;
  lostAfter: number;
  /** -32003 answers whose task is still pending/processing, or whose hash is gone. */
  stuck: number;
  missing: number;
  noTaskId: number;
  /** -32004 answers whose task ran all the same (the submit reached Redis, its reply did not). */
  refusedButRan: number;
  /** Those lost and refused-but-ran tasks, for the progress lines. */
  timelines: Timeline[];
}

/**
 * Looks up the task of every -32003 and -32004 answer. A completion before the -32003
 * (`updatedAt` ≤ answer time) means the reply was in Redis and never routed; after it, the
 * task itself was late (delayed past the play timeout) and the reply came to nobody.
 */
async function audit(redis: Redis, plays: Played[]): Promise<Audit> {
  const out: Audit = {
    lostBefore: 0,
    lostAfter: 0,
    stuck: 0,
    missing: 0,
    noTaskId: 0,
    refusedButRan: 0,
    timelines: [],
  };
  const note = (kind: string, p: Played, state: (string | null)[]): void => {
    const [, updatedAt, createdAt] = state;
    const [finishedAt, queuedAt] = [Date.parse(updatedAt ?? ''), Date.parse(createdAt ?? '')];
    out.timelines.push({
      kind,
      taskId: p.taskId!,
      sentAt: p.sentAt,
      createdAt: queuedAt,
      answeredAt: p.at,
      finishedAt,
    });
  };
  const timeouts = plays.filter((p) => p.code === TIMEOUT);
  out.noTaskId = timeouts.filter((p) => !p.taskId).length;
  const withId = timeouts.filter((p) => p.taskId);
  const states = await taskStates(
    redis,
    withId.map((p) => p.taskId!),
  );
  withId.forEach((p, i) => {
    const state = states[i]!;
    const [status, updatedAt] = state;
    if (status === null || status === undefined) out.missing++;
    else if (!finished(status)) out.stuck++;
    else {
      if (Date.parse(updatedAt ?? '') <= p.at) out.lostBefore++;
      else out.lostAfter++;
      note('lost (-32003, completed)', p, state);
    }
  });
  const refused = plays.filter((p) => p.code === UNAVAILABLE && p.taskId);
  const refusedStates = await taskStates(
    redis,
    refused.map((p) => p.taskId!),
  );
  refused.forEach((p, i) => {
    if (!finished(refusedStates[i]![0])) return;
    out.refusedButRan++;
    note('-32004 but ran', p, refusedStates[i]!);
  });
  return out;
}

/** One progress line per timeline (at most 8), in seconds from the load's start. */
function sayTimelines(a: Audit, loadStart: number, restarts: number[]): void {
  const rel = (t: number): string => `+${((t - loadStart) / 1000).toFixed(2)}`;
  // The epoch lets these lines be matched with the servers' and workers' logs (pino times).
  if (a.timelines.length > 0) say(`times from the load's start at epoch ${loadStart} ms:`);
  for (const t of a.timelines.slice(0, 8)) {
    say(
      `${t.kind} ${t.taskId}: sent ${rel(t.sentAt)}, hash created ${rel(t.createdAt)}, answered ` +
        `${rel(t.answeredAt)}, finished ${rel(t.finishedAt)} s (restarts at ${restarts.map(rel).join('/')} s)`,
    );
  }
}

/** Counts per answer kind: `ok`, `no answer`, or the error code. */
function tally(plays: Played[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of plays) {
    const kind = p.code === OK ? 'ok' : p.code === NO_ANSWER ? 'no answer' : String(p.code);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Successful plays answered inside [from, to] (epoch ms), per second. */
function okRate(plays: Played[], from: number, to: number): number {
  const ok = plays.filter((p) => p.code === OK && p.at >= from && p.at <= to).length;
  return ok / ((to - from) / 1000);
}

function restartRow(times: number, plays: Played[], a: Audit, okPerS: number, outages: number[]): Row {
  const counts = tally(plays);
  const wrong = plays.filter((p) => p.code === OK && p.output !== '42').length;
  const lost = a.lostBefore + a.lostAfter;
  const unanswered = counts.get('no answer') ?? 0;
  const known = ['ok', 'no answer', String(TIMEOUT), String(UNAVAILABLE)];
  return {
    scenario: `(i) no answer lost: ${times} Redis restart${times > 1 ? 's' : ''} (SIGTERM, AOF) under ${RESTART_SESSIONS} sessions of \`40 + 2\`, 2 servers + 2 workers`,
    ours: lost,
    baseline: null,
    unit: 'lost',
    ratio: null,
    target: '0 lost answers',
    met: lost === 0 && unanswered === 0 && wrong === 0,
    detail: {
      answered: plays.length - unanswered,
      'ok plays/s': Math.round(okPerS),
      '-32003': counts.get(String(TIMEOUT)) ?? 0,
      'lost: completed before/after its -32003': `${a.lostBefore}/${a.lostAfter}`,
      '-32003 still queued': a.stuck,
      '-32003 hash missing': a.missing,
      '-32004': counts.get(String(UNAVAILABLE)) ?? 0,
      '-32004 that ran anyway': a.refusedButRan,
      'no answer': unanswered,
      'wrong output': wrong,
      'other errors': [...counts].filter(([k]) => !known.includes(k)).reduce((sum, [, n]) => sum + n, 0),
      'redis away ms': outages.map((o) => Math.round(o)).join('/'),
    },
  };
}

async function redisRestarts(ctx: BenchContext): Promise<Row> {
  const times = ctx.quick ? 1 : 3;
  const loadMs = ctx.quick ? 3000 : 6000;
  return withCleanup(async (defer) => {
    const redis = await DurableRedis.start('i-redis', defer);
    const stack = await startStack(ctx, 'i-restart', redis.url, RESTART_PLAY_TIMEOUT_MS, defer);
    const sessions = await openSessions(stack.urls, RESTART_SESSIONS, RESTART_PLAY_TIMEOUT_MS + 10_000);
    defer(() => sessions.forEach((s) => s.close()));
    const loadStart = Date.now();
    // Hard limit: the restarts may take longer than planned, the load must still end.
    const load = startLoad(sessions, QUICK_PLAY, loadMs + times * 10_000);
    defer(() => load.stop()); // if a restart throws, the sessions still stop
    const outages = await restartRepeatedly(redis, times);
    await sleep(Math.max(RESTART_GAP_MS, loadMs - (Date.now() - loadStart)));
    load.stop();
    const loadEnd = Date.now();
    await load.done; // plays still in flight are answered within the play timeout
    // A task that timed out may still complete (SPEC §2): let it, so the audit sees it.
    await sleep(RESTART_PLAY_TIMEOUT_MS + 1000);
    const a = await audit(await probe(redis.url, defer), load.plays);
    const counts = tally(load.plays);
    say(
      `${load.plays.length} plays in ${((loadEnd - loadStart) / 1000).toFixed(1)} s (+ drain): ` +
        `${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `-32003 audit: completed before/after the answer ${a.lostBefore}/${a.lostAfter}, ` +
        `still queued ${a.stuck}, hash missing ${a.missing}, no task id ${a.noTaskId}; ` +
        `-32004 that ran anyway ${a.refusedButRan}`,
    );
    sayTimelines(a, loadStart, redis.stoppedAt);
    return restartRow(times, load.plays, a, okRate(load.plays, loadStart, loadEnd), outages);
  });
}

// ---------------------------------------------------------------------------------------------
// Part 2: a worker killed -9.

const KILL_SESSIONS = 16;
const KILL_PLAY_TIMEOUT_MS = 30_000;
/** ~190 ms on the reference machine (2 cores): long enough that a worker always holds tasks. */
const SLOW_PLAY =
  'let s = ""; s.pad(200000, "y"); for i in 0..10 { s.replace("y", "z"); s.replace("z", "y"); } 42';
const KILL_WARMUP_MS = 1500;
/** SPEC §4: a dead worker's tasks run elsewhere within 15 s. */
const RECOVERY_TARGET_MS = 15_000;
const RECOVERY_GIVE_UP_MS = 45_000;
const POLL_MS = 50;

/** Median latency of a few slow plays one at a time, before the load: what one play costs. */
async function calibrate(s: Session): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const p = await s.play(SLOW_PLAY);
    if (p.code !== OK || p.output !== '42') throw new Error(`slow play answered ${JSON.stringify(p)}`);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[1]!;
}

/** Polls both processing lists until one holds tasks; the index of the worker holding most. */
async function pickVictim(redis: Redis, lists: string[]): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const lengths = await Promise.all(lists.map((l) => redis.lLen(l)));
    const most = lengths.indexOf(Math.max(...lengths));
    if (lengths[most]! > 0) return most;
    await sleep(10);
  }
  throw new Error('neither worker held a task for 2 s under load');
}

async function kill9(child: Child): Promise<void> {
  const exited = once(child.proc, 'exit');
  child.proc.kill('SIGKILL');
  await Promise.race([exited, sleep(5000)]);
}

interface Recovery {
  /** ms from the kill until every held task completed (null: not within the give-up time). */
  doneMs: number | null;
  /** ms from the kill until the dead worker's processing list was emptied (re-queued). */
  requeuedMs: number | null;
  /** ms from the kill until every held task was in the other worker's hands or finished. */
  takenMs: number | null;
  errors: number;
}

/**
 * Polls until every held task has finished, noting when the dead worker's list was emptied
 * and when the survivor held them all: re-queued and taken is what SPEC §4 bounds (15 s);
 * finished adds running them, behind whatever the survivor had already taken.
 */
async function awaitRecovery(
  redis: Redis,
  held: string[],
  lists: { dead: string; survivor: string },
  killedAt: number,
): Promise<Recovery> {
  const r: Recovery = { doneMs: null, requeuedMs: null, takenMs: null, errors: 0 };
  const since = (): number => performance.now() - killedAt;
  while (since() < RECOVERY_GIVE_UP_MS) {
    if (r.requeuedMs === null && (await redis.lLen(lists.dead)) === 0) r.requeuedMs = since();
    const survivor = new Set(await redis.lRange(lists.survivor, 0, -1));
    const states = await taskStates(redis, held);
    const done = states.map(([status]) => finished(status));
    if (r.takenMs === null && held.every((id, i) => done[i] || survivor.has(id))) r.takenMs = since();
    if (done.every(Boolean)) {
      r.doneMs = since();
      r.errors = states.filter(([status]) => status === 'error').length;
      break;
    }
    await sleep(POLL_MS);
  }
  return r;
}

interface KillOutcome {
  scriptMs: number;
  held: string[];
  r: Recovery;
  /** Held tasks whose sessions were answered with a result. */
  answered: number;
  plays: Played[];
  okPerS: number;
}

function killRow(k: KillOutcome): Row {
  const s = (t: number | null): number | null => (t === null ? null : seconds(t));
  const ok = k.plays.filter((p) => p.code === OK).length;
  return {
    scenario: `(i) worker kill -9 under ${KILL_SESSIONS} sessions of ~${Math.round(k.scriptMs)} ms plays: its tasks completed elsewhere`,
    ours: s(k.r.doneMs),
    baseline: null,
    unit: 's',
    ratio: null,
    target: '≤ 15 s',
    met: k.held.length > 0 && k.r.doneMs !== null && k.r.doneMs <= RECOVERY_TARGET_MS,
    detail: {
      'tasks held at kill': k.held.length,
      'kill → all completed s': s(k.r.doneMs),
      'kill → re-queued s': s(k.r.requeuedMs),
      'kill → all taken elsewhere s': s(k.r.takenMs),
      'answered completed': k.answered,
      'finished as error': k.r.errors,
      'script ms': Math.round(k.scriptMs),
      'ok plays/s': Number(k.okPerS.toFixed(1)),
      'not ok': k.plays.length - ok,
    },
  };
}

async function workerKill(ctx: BenchContext): Promise<Row> {
  return withCleanup(async (defer) => {
    const redis = await DurableRedis.start('i-redis-kill', defer);
    const stack = await startStack(ctx, 'i-kill', redis.url, KILL_PLAY_TIMEOUT_MS, defer);
    const sessions = await openSessions(stack.urls, KILL_SESSIONS, KILL_PLAY_TIMEOUT_MS + 10_000);
    defer(() => sessions.forEach((s) => s.close()));
    const client = await probe(redis.url, defer);
    const scriptMs = await calibrate(sessions[0]!);
    const loadStart = Date.now();
    const load = startLoad(sessions, SLOW_PLAY, KILL_WARMUP_MS + RECOVERY_GIVE_UP_MS + 5000);
    defer(() => load.stop()); // if anything below throws, the sessions still stop
    await sleep(KILL_WARMUP_MS);
    const lists = stack.workerIds.map((id) => `rhailib:processing:${ctx.circle}:${id}`);
    const victim = await pickVictim(client, lists);
    const killedAt = performance.now();
    await kill9(stack.workers[victim]!);
    // Exact: nobody touches a dead worker's list until its liveness key has expired.
    const held = await client.lRange(lists[victim]!, 0, -1);
    say(`killed worker ${stack.workerIds[victim]} (-9) holding ${held.length} tasks`);
    const pair = { dead: lists[victim]!, survivor: lists[1 - victim]! };
    const r = await awaitRecovery(client, held, pair, killedAt);
    load.stop();
    const loadEnd = Date.now();
    await load.done;
    const heldSet = new Set(held);
    const answered = load.plays.filter((p) => p.code === OK && p.taskId && heldSet.has(p.taskId)).length;
    const counts = tally(load.plays);
    const at = (t: number | null): string => (t === null ? 'never' : `${seconds(t)} s`);
    say(
      `dead worker's tasks re-queued after ${at(r.requeuedMs)}, all taken by the other worker after ` +
        `${at(r.takenMs)}, all completed after ${at(r.doneMs)}; ${answered}/${held.length} ` +
        `answered completed; ${load.plays.length} plays: ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
    const okPerS = okRate(load.plays, loadStart, loadEnd);
    return killRow({ scriptMs, held, r, answered, plays: load.plays, okPerS });
  });
}

/** (i) Both parts; one row each. */
export async function runFaults(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const part of [redisRestarts, workerKill]) {
    const row = await part(ctx);
    rows.push(row);
    ctx.emit(row);
  }
  return rows;
}
