/**
 * Fuzzing a real launcher (embedded backend) over real WebSockets: for a bounded time and
 * number of frames, several clients throw random text, broken JSON, deep nesting, huge ids,
 * random batches, random methods and params, and random Rhai (mutated corpus scripts and
 * token soup) as `play`. The process must stay up, every frame that calls for an answer
 * must get exactly one in time, and afterwards a fresh session still plays `40 + 2`.
 *
 * Deterministic per seed: FUZZ_SEED=<n> replays a run's inputs (timing aside). The seed is
 * in the test's name and in every failure message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { buildOnce, killAll, launch, type Run } from '../support/cli';
import { RpcClient } from '../support/rpc-client';
import { readSharedJson, sharedPath } from '../support/shared-data';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STORM_MS = 9000; // plus at most one answer timeout: the whole storm stays under 15 s
const MAX_FRAMES_PER_CLIENT = 400;
const CLIENTS = 4;
const PLAY_TIMEOUT_MS = 2000;
/** A frame's answer may wait for plays: the play timeout plus slack for a busy 2-core box. */
const ANSWER_TIMEOUT_MS = PLAY_TIMEOUT_MS + 3000;
const MAX_BATCH = 1000;

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const CORPUS_FILE = 'rhai-corpus/upstream-cases.json';

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
}

/** Mutated corpus scripts where ../shared/ has the corpus; the fuzz runs on token soup alone without. */
const corpus: string[] = (readSharedJson<{ script: string }[]>(CORPUS_FILE) ?? [])
  .map((c) => c.script)
  .filter((s) => s.length < 4000);

const TOKENS = [
  'let',
  'const',
  'fn',
  'if',
  'else',
  'while',
  'loop',
  'for',
  'in',
  'return',
  'throw',
  'try',
  'catch',
  'switch',
  'break',
  'continue',
  'x',
  'y',
  'a',
  'm',
  's',
  'f',
  'this',
  '=',
  '==',
  '+',
  '-',
  '*',
  '/',
  '%',
  '**',
  '<<',
  '>>',
  '&&',
  '||',
  '!',
  '..',
  '..=',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '#{',
  ',',
  ';',
  ':',
  '.',
  '?.',
  '??',
  '|x|',
  '||',
  '0',
  '1',
  '-1',
  '9223372036854775807',
  '1e308',
  '0.5',
  '"str"',
  "'c'",
  '`t${1}`',
  '()',
  'true',
  'false',
  'print',
  'debug',
  'type_of',
  'to_chars()',
  'split("")',
  'split()',
  'pad(1000000, "x")',
  'keys()',
  'values()',
  'len()',
  'push',
  'append',
  'insert',
  'to_upper()',
  'replace("a", "bb")',
  'store_set("k", x)',
  'store_get("k")',
  'store_keys()',
  'Fn("f")',
  'curry(1)',
  'call',
  'range(0, 100000)',
  'sub_string(1)',
  'sort()',
  'map(|v| v)',
  'filter(|v| true)',
  'reduce(|a, b| a + b)',
  'to_json()',
];

/** A mutation of a corpus script (or token soup when the corpus is absent). */
function mutated(g: Gen): string {
  let s = corpus.length > 0 ? g.pick(corpus) : tokenSoup(g);
  const rounds = 1 + g.int(3);
  for (let r = 0; r < rounds; r++) {
    const i = g.int(s.length + 1);
    const j = Math.min(s.length, i + g.int(12));
    switch (g.int(6)) {
      case 0: // delete a span
        s = s.slice(0, i) + s.slice(j);
        break;
      case 1: // duplicate a span
        s = s.slice(0, j) + s.slice(i, j) + s.slice(j);
        break;
      case 2: // insert a token
        s = `${s.slice(0, i)} ${g.pick(TOKENS)} ${s.slice(i)}`;
        break;
      case 3: // swap two characters
        if (s.length > 1) {
          const k = g.int(s.length - 1);
          s = s.slice(0, k) + s[k + 1] + s[k] + s.slice(k + 2);
        }
        break;
      case 4: // a number becomes an extreme one
        s = s.replace(
          /\d+/,
          g.pick(['9223372036854775807', '-9223372036854775808', '0', '1000000', '1e308']),
        );
        break;
      default: // truncate
        s = s.slice(0, i);
    }
  }
  return s;
}

function tokenSoup(g: Gen): string {
  const n = 1 + g.int(40);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(g.pick(TOKENS));
  return out.join(g.chance(0.5) ? ' ' : '');
}

function randomText(g: Gen): string {
  const n = g.int(200);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = g.rnd();
    // mostly JSON-ish punctuation and ASCII, some any code unit (lone surrogates included)
    s +=
      r < 0.3
        ? g.pick(['{', '}', '[', ']', '"', ':', ',', '\\', 'null', '1', '-', 'e'])
        : r < 0.9
          ? String.fromCharCode(32 + g.int(95))
          : String.fromCharCode(g.int(0x10000));
  }
  return s;
}

const METHODS = [
  'play',
  'whoami',
  'fetch_nonce',
  'authenticate',
  'rpc.discover',
  'task_status',
  'nope',
  '',
  'rpc.x',
];

function randomValue(g: Gen, depth = 0): unknown {
  switch (g.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return g.chance(0.5);
    case 2:
      return g.pick([0, -1, 1.5, 1e308, 2 ** 53 + 1, -0]);
    case 3:
      return 'x'.repeat(g.int(50));
    case 4:
      return randomText(g).slice(0, 30);
    case 5:
      return Array.from({ length: g.int(4) }, () => randomValue(g, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: g.int(4) }, (_, i) => [`k${i}`, randomValue(g, depth + 1)]),
      );
  }
}

/** An id of any JSON-RPC type; `big`: sometimes a 50,000-character string. */
function randomId(g: Gen, n: number, big: boolean): unknown {
  switch (g.int(6)) {
    case 0:
      return `id-${n}-${'z'.repeat(big && g.chance(0.2) ? 50_000 : g.int(20))}`;
    case 1:
      return g.pick([1e300, -1e300, 2 ** 64, 0.1, -0]);
    case 2:
      return null;
    default:
      return n;
  }
}

/** A random request object (sometimes a notification, sometimes not quite a request). */
function randomRequest(g: Gen, n: number, big = true): Record<string, unknown> {
  const method = g.chance(0.5) ? 'play' : g.pick(METHODS);
  const params =
    method === 'play'
      ? g.chance(0.5)
        ? [g.chance(corpus.length > 0 ? 0.6 : 0) ? mutated(g) : tokenSoup(g)]
        : { script: g.chance(0.5) ? mutated(g) : tokenSoup(g) }
      : g.chance(0.7)
        ? randomValue(g)
        : undefined;
  const req: Record<string, unknown> = { jsonrpc: g.chance(0.95) ? '2.0' : '1.0', method };
  if (params !== undefined) req.params = params;
  if (g.chance(0.85)) req.id = randomId(g, n, big);
  if (g.chance(0.03)) delete req.method;
  return req;
}

type Frame = { text: string | Buffer; binary?: boolean; closes?: boolean };

/** One frame to send. `closes`: the server is expected to close the socket instead of answering. */
function randomFrame(g: Gen, n: number): Frame {
  const kind = g.int(100);
  if (kind < 10) return { text: randomText(g) };
  if (kind < 20) {
    const whole = JSON.stringify(randomRequest(g, n));
    return { text: whole.slice(0, g.int(whole.length)) }; // truncated JSON
  }
  if (kind < 26) {
    const d = g.pick([63, 64, 65, 1000, 100_000]);
    const open = g.chance(0.5) ? '[' : '{"a":';
    const close = open === '[' ? ']' : '}';
    return {
      text: `{"jsonrpc":"2.0","id":${n},"method":"play","params":${open.repeat(d)}1${close.repeat(d)}}`,
    };
  }
  if (kind < 40) {
    const count = g.chance(0.05) ? MAX_BATCH + 1 + g.int(50) : g.int(30);
    const members = Array.from({ length: count }, (_, i) =>
      g.chance(0.1) ? randomValue(g) : randomRequest(g, n * 1000 + i, false),
    );
    return { text: JSON.stringify(members) };
  }
  if (kind < 42) return { text: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), closes: true }; // invalid UTF-8: 1007
  if (kind < 44) return { text: Buffer.from('{"jsonrpc":"2.0"}'), binary: true, closes: true }; // binary: 1003
  return { text: JSON.stringify(randomRequest(g, n)) };
}

/** Does this frame call for an answer? (False only for notifications, alone or in a batch.) */
function wantsAnswer(frame: Frame): boolean {
  if (frame.closes) return false;
  const text = frame.text.toString();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return true;
  }
  const isNotification = (v: unknown): boolean => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const r = v as Record<string, unknown>;
    const p = r.params;
    return (
      !('id' in r) &&
      r.jsonrpc === '2.0' &&
      typeof r.method === 'string' &&
      (p === undefined || (typeof p === 'object' && p !== null))
    );
  };
  if (!Array.isArray(parsed)) return !isNotification(parsed);
  if (parsed.length === 0 || parsed.length > MAX_BATCH) return true;
  return parsed.some((m) => !isNotification(m));
}

/** A socket with a queue of incoming frames. */
class Peer {
  readonly frames: string[] = [];
  closed: number | undefined;
  private wake: (() => void) | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.frames.push(d.toString());
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closed = code;
      this.wake?.();
    });
    ws.on('error', () => undefined);
  }
  static open(url: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
      ws.once('open', () => resolve(new Peer(ws)));
      ws.once('error', reject);
    });
  }
  /** The next frame, or `closed`, or undefined after `ms`. */
  async next(ms: number): Promise<string | 'closed' | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.frames.length > 0) return this.frames.shift();
      if (this.closed !== undefined) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
  close(): void {
    this.ws.terminate();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-fuzz-'));
let run: Run;
let url: string;

beforeAll(async () => {
  buildOnce();
  if (corpus.length === 0) {
    console.warn(
      `fuzz: ${sharedPath(CORPUS_FILE)} not found: corpus-mutation scripts skipped, token soup only`,
    );
  }
  run = launch('circles-launcher', [
    '--port',
    '0',
    '--log-level',
    'error',
    '--data-dir',
    dir,
    '-k',
    A,
    '--play-timeout',
    String(PLAY_TIMEOUT_MS),
  ]);
  [, url] = (await run.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000)) as unknown as [string, string];
}, 60_000);
afterAll(() => killAll());

describe('fuzz: a real launcher under a storm of random frames', () => {
  it(`stays up and answers every frame that calls for an answer (seed ${SEED}; replay with FUZZ_SEED=${SEED})`, async () => {
    const failures: string[] = [];
    const deadline = Date.now() + STORM_MS;
    let sent = 0;
    let answered = 0;

    const client = async (k: number): Promise<void> => {
      const g = new Gen(prng(SEED * 31 + k));
      let peer = await Peer.open(`${url}/${A}`);
      for (let n = 0; n < MAX_FRAMES_PER_CLIENT && Date.now() < deadline; n++) {
        const frame = randomFrame(g, n);
        const label = `seed ${SEED} client ${k} frame ${n}: ${frame.text.toString().slice(0, 120)}`;
        peer.ws.send(frame.text, { binary: frame.binary ?? false });
        sent++;
        if (frame.closes) {
          // the server must close this socket (1003 binary, 1007 bad UTF-8); then a new one
          const got = await peer.next(ANSWER_TIMEOUT_MS);
          if (got !== 'closed' && (await peer.next(ANSWER_TIMEOUT_MS)) !== 'closed')
            failures.push(`${label}: not closed`);
          peer.close();
          peer = await Peer.open(`${url}/${A}`);
          continue;
        }
        const want = wantsAnswer(frame);
        // a sentinel after a frame that calls for no answer: its answer must come next
        const sentinel = `sentinel-${k}-${n}`;
        if (!want) peer.ws.send(JSON.stringify({ jsonrpc: '2.0', id: sentinel, method: 'whoami' }));
        const got = await peer.next(ANSWER_TIMEOUT_MS);
        if (got === undefined) {
          failures.push(`${label}: no answer in ${ANSWER_TIMEOUT_MS} ms`);
          peer.close();
          peer = await Peer.open(`${url}/${A}`);
          continue;
        }
        if (got === 'closed') {
          // allowed only for too many failed authentications (1008) or a frame over the limit
          if (peer.closed !== 1008 && peer.closed !== 1009) failures.push(`${label}: closed ${peer.closed}`);
          peer = await Peer.open(`${url}/${A}`);
          continue;
        }
        answered++;
        let msg: unknown;
        try {
          msg = JSON.parse(got);
        } catch {
          failures.push(`${label}: answer is not JSON: ${got.slice(0, 80)}`);
          continue;
        }
        if (!want && (msg as { id?: unknown }).id !== sentinel)
          failures.push(`${label}: a notification was answered: ${got.slice(0, 120)}`);
        const errors = (Array.isArray(msg) ? msg : [msg]) as { error?: { code: number; message: unknown } }[];
        for (const e of errors) {
          if (e.error && (typeof e.error.code !== 'number' || typeof e.error.message !== 'string'))
            failures.push(`${label}: malformed error ${JSON.stringify(e.error).slice(0, 120)}`);
          if (e.error?.code === -32603) failures.push(`${label}: internal error`);
        }
      }
      peer.close();
    };

    await Promise.all(Array.from({ length: CLIENTS }, (_, k) => client(k)));
    if (process.env.FUZZ_VERBOSE) console.log({ seed: SEED, sent, answered, failures: failures.length });
    expect({ seed: SEED, alive: run.child.exitCode === null && run.child.signalCode === null }).toEqual({
      seed: SEED,
      alive: true,
    });
    expect({ seed: SEED, failures: failures.slice(0, 10) }).toEqual({ seed: SEED, failures: [] });
    expect(sent).toBeGreaterThan(50);
    expect(answered).toBeGreaterThan(0);

    // afterwards a fresh session still plays
    const c = await RpcClient.connect(`${url}/${A}`);
    const m = await c.request('play', ['40 + 2'], 20_000);
    expect({ seed: SEED, result: m.result?.output }).toEqual({ seed: SEED, result: '42' });
    await c.close();
  }, 60_000);
});
