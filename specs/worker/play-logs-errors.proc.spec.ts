/**
 * Script logs and structured script errors, end to end (SPEC §2 `play` and `-32000`, §4 the
 * task protocol's detail fields): a real server, real workers and a real Redis, and the real
 * launcher process on its embedded backend; real WebSocket clients over loopback.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { silentLogger } from '../../log';
import { keyBuilder } from '../../queue/keys';
import { detailHashFields, readDetail, readLogs } from '../../queue/task';
import { startWorker, type WorkerHandle } from '../../worker';
import { WorkerErrorKind } from '../../worker/error-kinds';
import { LogCollector, MAX_LOG_BYTES, truncatedMarker } from '../../worker/log-collector';
import { ScriptRunner, type RunStore } from '../../worker/run-script';
import { killAll, launch } from '../support/cli';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient, type RpcMessage } from '../support/rpc-client';
import { REPO_ROOT } from '../support/repo-root';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
/** A circle no worker serves: its tasks are answered by hand. */
const UNSERVED = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const MARKER = '… logs truncated at 65536 bytes';

/** Bytes a list of lines counts against the cap (each line plus its line break). */
const logBytes = (lines: readonly string[]): number =>
  lines.reduce((sum, line) => sum + Buffer.byteLength(line, 'utf8') + 1, 0);

let redis: TestRedis;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-logs-'));

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await killAll();
  await redis.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('LogCollector', () => {
  it('keeps lines in order and has nothing when nothing was printed', () => {
    const logs = new LogCollector();
    expect(logs.take()).toBeUndefined();
    logs.add('one');
    logs.add('');
    logs.add('three');
    expect(logs.take()).toEqual(['one', '', 'three']);
    expect(logs.take()).toBeUndefined(); // take starts afresh
  });

  it('stops at the cap as lines arrive: the crossing line cut, then one marker', () => {
    const logs = new LogCollector(10);
    logs.add('abcd'); // 5 bytes with its line break
    logs.add('efghijkl'); // 9: only 'efgh' fits (4 + its line break = the 5 left)
    logs.add('never');
    expect(logs.take()).toEqual(['abcd', 'efgh', truncatedMarker(10)]);
  });

  it('states the marker with the cap in bytes', () => {
    expect(truncatedMarker(MAX_LOG_BYTES)).toBe(MARKER);
  });

  it('counts UTF-8 bytes and never cuts a character in two', () => {
    const logs = new LogCollector(8);
    logs.add('€€€'); // 9 bytes + 1: only two euro signs (6 bytes) fit before the line break
    expect(logs.take()).toEqual(['€€', truncatedMarker(8)]);
    logs.add('ab😀😀'); // an emoji is 4 bytes, a surrogate pair in UTF-16: one fits in the 7 left
    expect(logs.take()).toEqual(['ab😀', truncatedMarker(8)]);
  });

  it('bounds a flood of empty lines and of 10 MB alike', () => {
    const empty = new LogCollector();
    for (let i = 0; i < 1_000_000; i++) empty.add('');
    const lines = empty.take()!;
    expect(lines).toHaveLength(MAX_LOG_BYTES + 1);
    expect(lines.at(-1)).toBe(MARKER);

    const big = new LogCollector();
    const mb = 'x'.repeat(1_000_000);
    for (let i = 0; i < 10; i++) big.add(mb);
    const kept = big.take()!;
    expect(kept).toEqual(['x'.repeat(MAX_LOG_BYTES - 1), MARKER]);
    expect(logBytes(kept.slice(0, -1))).toBe(MAX_LOG_BYTES);
  });

  it('is reset between the runs of one script runner', () => {
    // the script thread's runner, with a store that has nothing (these scripts use none)
    const emptyFakeStore: RunStore = {
      unavailable: undefined,
      effects: () => undefined,
      get: () => undefined,
      set: () => undefined,
      delete: () => false,
      keys: () => [],
    };
    const runner = new ScriptRunner(() => emptyFakeStore);
    const job = (script: string) => ({ script, circlePk: CIRCLE, constants: {}, deadlineMs: 5_000 });
    expect(runner.run(job('print("a"); debug("b"); 1'))).toEqual({
      ok: true,
      output: '1',
      logs: ['a', '"b"'],
    });
    expect(runner.run(job('2'))).toEqual({ ok: true, output: '2' });
    expect(runner.run(job('print("c");\nfoo()'))).toEqual({
      ok: false,
      error: 'Function not found: foo () (line 2, position 1)',
      errorKind: 'ErrorFunctionNotFound',
      errorLine: 2,
      errorPosition: 1,
      logs: ['c'],
    });
  });
});

describe('reading detail fields from Redis (replies and task hashes)', () => {
  it('reads old-shape records as having no detail', () => {
    expect(readDetail({ taskId: 't', status: 'completed', output: 'x' })).toEqual({});
  });

  it('reads the hash form (strings) and the reply form (numbers, an array) alike', () => {
    const detail = { errorKind: 'ErrorParsing', errorLine: 2, errorPosition: 9, logs: ['a', 'b'] };
    expect(readDetail(detailHashFields(detail))).toEqual(detail);
    expect(readDetail(detail)).toEqual(detail);
    expect(detailHashFields(detail)).toEqual({
      errorKind: 'ErrorParsing',
      errorLine: '2',
      errorPosition: '9',
      logs: '["a","b"]',
    });
  });

  it('drops whatever is malformed, never throws', () => {
    for (const logs of ['{not json', '"a string"', '[1, 2]', '{}', 42, { 0: 'a' }, [null], '[]', []]) {
      expect(readLogs(logs)).toBeUndefined();
    }
    expect(
      readDetail({
        errorKind: 'has spaces!',
        errorLine: '0',
        errorPosition: -3,
        logs: '["ok", 5]',
      }),
    ).toEqual({});
    expect(readDetail({ errorKind: 7, errorLine: 1.5, errorPosition: '12abc', logs: null })).toEqual({});
  });
});

describe('openrpc.json documents logs and every error kind', () => {
  const doc = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'openrpc.json'), 'utf8'));
  const schemas = doc.components.schemas;

  it('lists exactly the kinds the engine and the worker produce, each described', () => {
    const produced = new Set<string>(Object.values(WorkerErrorKind));
    const rhai = path.join(REPO_ROOT, 'rhai');
    for (const file of fs.readdirSync(rhai, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      for (const m of fs.readFileSync(path.join(rhai, file), 'utf8').matchAll(/'(Error[A-Za-z]+)'/g))
        produced.add(m[1]!);
    }
    expect(produced.size).toBeGreaterThan(20);
    const kind = schemas.ExecutionErrorData.properties.kind;
    expect([...kind.enum].sort()).toEqual([...produced].sort());
    for (const name of produced) expect(kind.description).toContain(name);
  });

  it('states the truncation marker the worker writes', () => {
    expect(schemas.PlayLogs.description).toContain(`'${MARKER}'`);
  });

  it("gives play's result its logs and the -32000 data its kind, position and logs", () => {
    const playMethod = doc.methods.find((m: { name: string }) => m.name === 'play');
    expect(playMethod.result.schema.properties.logs).toEqual({ $ref: '#/components/schemas/PlayLogs' });
    expect(Object.keys(schemas.ExecutionErrorData.properties).sort()).toEqual(
      ['error', 'kind', 'line', 'logs', 'position', 'task_id'].sort(),
    );
    expect(Object.keys(doc.components.errors.ExecutionError.data).sort()).toEqual(
      ['error', 'kind', 'line', 'logs', 'position', 'task_id'].sort(),
    );
  });
});

/** Where plays go: a WebSocket URL serving CIRCLE, and how to stop it. */
interface Target {
  readonly url: string;
  stop(): Promise<void>;
}

async function redisTarget(): Promise<Target> {
  const ns = redis.namespace();
  const worker = await startWorker(
    { circles: [CIRCLE], redisUrl: redis.url, namespace: ns, concurrency: 2, workerId: `w-${randomUUID()}` },
    { logger: silentLogger() },
  );
  const gw = await startGateway(redis.url, ns);
  return {
    url: gw.url,
    async stop() {
      await gw.stop();
      await worker.stop();
    },
  };
}

async function embeddedLauncherTarget(): Promise<Target> {
  const run = launch('circles-launcher', [
    '--port',
    '0',
    '--log-level',
    'warn',
    '--data-dir',
    fs.mkdtempSync(path.join(tmp, 'data-')),
    '-k',
    CIRCLE,
  ]);
  const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/, 30_000);
  return {
    url: url!,
    async stop() {
      run.kill('SIGTERM');
      await run.exited;
    },
  };
}

/** One play on a fresh session, its whole response; fails at once if the socket closes first. */
async function play(url: string, script: string, circle = CIRCLE): Promise<RpcMessage> {
  const c = await RpcClient.connect(`${url}/${circle}`);
  const dropped = c.closed.then(({ code }) => {
    throw new Error(`the server closed the socket (${code}) before answering the play`);
  });
  try {
    return await Promise.race([c.request('play', [script], 30_000), dropped]);
  } finally {
    dropped.catch(() => undefined);
    await c.close();
  }
}

const TASK_ID = expect.stringMatching(/^[0-9a-f-]{36}$/);

describe.each([
  ['a real worker over Redis', redisTarget],
  ['the launcher on its embedded backend', embeddedLauncherTarget],
])('play logs and structured errors through %s', (_name, start) => {
  let target: Target;
  beforeAll(async () => {
    target = await start();
  }, 60_000);
  afterAll(() => target?.stop());

  it('returns what the script printed, in order, with its result', async () => {
    const r = await play(target.url, 'print("one");\ndebug("two");\nprint(3);\n"done"');
    expect(r.result).toEqual({ output: 'done', task_id: TASK_ID, logs: ['one', '"two"', '3'] });
  });

  it('has no logs when nothing was printed', async () => {
    const r = await play(target.url, '40 + 2');
    expect(r.result).toEqual({ output: '42', task_id: TASK_ID });
  });

  it('answers a parse error with its kind, line and position', async () => {
    const r = await play(target.url, 'let x = 1;\nlet y = ;\n');
    expect(r.error).toEqual({
      code: -32000,
      message: 'Execution Error',
      data: {
        task_id: TASK_ID,
        error: "Syntax error: Unexpected ';' (line 2, position 9)",
        kind: 'ErrorParsing',
        line: 2,
        position: 9,
      },
    });
  });

  it('carries the logs of a script that printed before failing at run time', async () => {
    const r = await play(target.url, 'print("before");\nprint("again");\nthrow "boom";');
    expect(r.error?.data).toEqual({
      task_id: TASK_ID,
      error: 'Runtime error: boom (line 3, position 1)',
      kind: 'ErrorRuntime',
      line: 3,
      position: 1,
      logs: ['before', 'again'],
    });
  });

  it('names a function that does not exist, with its position', async () => {
    const r = await play(target.url, 'let x = 1;\n  foo(x, 2)');
    expect(r.error?.data).toEqual({
      task_id: TASK_ID,
      error: 'Function not found: foo (i64, i64) (line 2, position 3)',
      kind: 'ErrorFunctionNotFound',
      line: 2,
      position: 3,
    });
  });

  it('gives an error without a position only its kind (operation budget)', async () => {
    const r = await play(target.url, 'print("spinning"); loop { }');
    expect(r.error?.data).toEqual({
      task_id: TASK_ID,
      error: 'Too many operations',
      kind: 'ErrorTooManyOperations',
      logs: ['spinning'],
    });
  }, 30_000);

  it('caps 10 MB of prints at 64 KiB with the marker, and the worker stays healthy', async () => {
    const r = await play(target.url, 'let s = ""; s.pad(1000000, "x"); for i in 0..10 { print(s) } "done"');
    expect(r.result).toEqual({ output: 'done', task_id: TASK_ID, logs: ['x'.repeat(65535), MARKER] });

    const lines = await play(target.url, 'for i in 0..200000 { print("line " + i) } "done"');
    const logs = lines.result.logs as string[];
    expect(logs.at(-1)).toBe(MARKER);
    expect(logBytes(logs.slice(0, -1))).toBeLessThanOrEqual(MAX_LOG_BYTES);
    expect(logBytes(logs.slice(0, -1))).toBeGreaterThan(MAX_LOG_BYTES - 20);
    // in order, none skipped, the last one cut at the cap
    logs.slice(0, -2).forEach((line, i) => expect(line).toBe(`line ${i}`));
    expect(`line ${logs.length - 2}`.startsWith(logs.at(-2)!)).toBe(true);

    expect((await play(target.url, '40 + 2')).result).toEqual({ output: '42', task_id: TASK_ID });
  }, 60_000);
});

describe('the Redis task protocol carries the detail', () => {
  let ns: string;
  let gw: TestGateway;
  let worker: WorkerHandle;
  let client: ReturnType<typeof createClient>;
  /** Answers tasks by hand, as a worker would, with whatever replies a test chooses. */
  let fake: ReturnType<typeof createClient>;

  beforeAll(async () => {
    ns = redis.namespace();
    worker = await startWorker(
      {
        circles: [CIRCLE],
        redisUrl: redis.url,
        namespace: ns,
        concurrency: 2,
        workerId: `w-${randomUUID()}`,
      },
      { logger: silentLogger() },
    );
    gw = await startGateway(redis.url, ns);
    client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    // Connected up front: opening a Redis connection between two uWS sessions of this process
    // was seen to coincide with uWS dropping the newer session (FIN right after open, 1006).
    fake = client.duplicate();
    fake.on('error', () => undefined);
    await fake.connect();
  });

  afterAll(async () => {
    client.destroy();
    fake.destroy();
    await gw.stop();
    await worker.stop();
  });

  it('writes kind, position and logs to the task hash, next to rhailib’s error', async () => {
    const r = await play(gw.url, 'print("before");\nprint("again");\nthrow "boom";');
    const hash = await client.hGetAll(keyBuilder(ns).task(r.error!.data.task_id));
    expect(hash).toMatchObject({
      status: 'error',
      error: 'Runtime error: boom (line 3, position 1)',
      errorKind: 'ErrorRuntime',
      errorLine: '3',
      errorPosition: '1',
      logs: '["before","again"]',
    });
    const ok = await play(gw.url, '"quiet"');
    const quiet = await client.hGetAll(keyBuilder(ns).task(ok.result.task_id));
    expect(quiet).toMatchObject({ status: 'completed', output: 'quiet' });
    for (const field of ['errorKind', 'errorLine', 'errorPosition', 'logs'])
      expect(quiet).not.toHaveProperty(field);
  });

  it('runs a task whose hash holds malformed detail fields, and replaces them', async () => {
    const keys = keyBuilder(ns);
    const taskId = randomUUID();
    const replyQueue = keys.replyQueue(`spec-${randomUUID()}`);
    const now = new Date().toISOString();
    await client.hSet(keys.task(taskId), {
      taskId,
      script: 'print("fresh"); "fine"',
      callerId: 'caller',
      contextId: CIRCLE,
      status: 'pending',
      createdAt: now,
      updatedAt: now,
      replyToQueue: replyQueue,
      logs: '{not json',
      errorKind: 'junk',
      errorLine: 'x',
    });
    await client.lPush(keys.workQueue(CIRCLE), taskId);
    const popped = await client.brPop(replyQueue, 10);
    expect(JSON.parse(popped!.element)).toEqual({
      taskId,
      status: 'completed',
      output: 'fine',
      logs: ['fresh'],
    });
    const hash = await client.hGetAll(keys.task(taskId));
    expect(hash.logs).toBe('["fresh"]');
    expect(hash).not.toHaveProperty('errorKind');
    expect(hash).not.toHaveProperty('errorLine');
    // and the worker still serves
    expect((await play(gw.url, '40 + 2')).result.output).toBe('42');
  });

  it('reads old-shape and malformed replies without failing the gateway', async () => {
    const keys = keyBuilder(ns);
    /** Takes the next task of the unserved circle and answers it with these raw replies. */
    const answer = async (replies: (taskId: string) => unknown[]): Promise<void> => {
      const id = await fake.blMove(
        keys.workQueue(UNSERVED),
        keys.processing(UNSERVED, 'fake'),
        'RIGHT',
        'LEFT',
        10,
      );
      if (!id) throw new Error('no task to answer');
      const replyTo = (await fake.hGet(keys.task(id), 'replyToQueue'))!;
      for (const raw of replies(id))
        await fake.lPush(replyTo, typeof raw === 'string' ? raw : JSON.stringify(raw));
    };
    const cases: [(taskId: string) => unknown[], Partial<RpcMessage>][] = [
      [
        (taskId) => [
          'not json',
          null,
          42,
          { status: 'error' },
          {
            taskId,
            status: 'error',
            error: 'bad',
            errorKind: 'not a kind!',
            errorLine: 'x',
            errorPosition: -3,
            logs: '{not json',
          },
        ],
        { error: { code: -32000, message: 'Execution Error', data: { task_id: TASK_ID, error: 'bad' } } },
      ],
      [
        (taskId) => [
          {
            taskId,
            status: 'error',
            error: 'bad',
            errorKind: 'ErrorRuntime',
            errorLine: '2',
            errorPosition: 7,
            logs: '["a","b"]',
          },
        ],
        {
          error: {
            code: -32000,
            message: 'Execution Error',
            data: {
              task_id: TASK_ID,
              error: 'bad',
              kind: 'ErrorRuntime',
              line: 2,
              position: 7,
              logs: ['a', 'b'],
            },
          },
        },
      ],
      [
        (taskId) => [{ taskId, status: 'completed', output: 'old shape' }],
        { result: { output: 'old shape', task_id: TASK_ID } },
      ],
      [
        (taskId) => [{ taskId, status: 'completed', output: 'odd logs', logs: [1, 'x'] }],
        { result: { output: 'odd logs', task_id: TASK_ID } },
      ],
    ];
    for (const [replies, expected] of cases) {
      const c = await RpcClient.connect(`${gw.url}/${UNSERVED}`);
      const pending = c.request('play', ['"unused"'], 15_000);
      await answer(replies);
      const r = await pending;
      expect(r).toMatchObject(expected);
      expect(Object.keys(r.result ?? r.error?.data ?? {}).sort()).toEqual(
        Object.keys((expected.result ?? expected.error?.data) as object).sort(),
      );
      await c.close();
    }
    expect((await play(gw.url, '40 + 2')).result.output).toBe('42');
  }, 60_000);

  it('keeps only the logs of the run that commits when a store conflict re-runs a script', async () => {
    const conflicts = async (): Promise<number> => {
      const metric = await worker.metrics
        .getSingleMetric('circles_worker_store_conflict_reruns_total')
        ?.get();
      return metric?.values[0]?.value ?? 0;
    };
    const before = await conflicts();
    // The slow script reads `n`, works for a while, then writes it; the fast one, on the other
    // thread, writes `n` meanwhile: the slow one's read is stale at its commit, so it runs again.
    const slow =
      'let n = store_get("n") ?? 0; print("slow run " + n); let s = ""; s.pad(500000, "y"); ' +
      'for i in 0..4 { s.replace("y", "z"); s.replace("z", "y"); } store_set("n", n + 1); n';
    const fast = 'let n = store_get("n") ?? 0; print("fast run " + n); store_set("n", n + 10); n';
    const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    const slowPlay = c.request('play', [slow], 30_000);
    await new Promise((r) => setTimeout(r, 50)); // the slow one starts first
    const fastPlay = c.request('play', [fast], 30_000);
    const [s, f] = await Promise.all([slowPlay, fastPlay]);
    await c.close();
    expect(f.result).toEqual({ output: '0', task_id: TASK_ID, logs: ['fast run 0'] });
    expect(await conflicts()).toBeGreaterThan(before);
    // one run's logs, and that run is the one that saw the fast play's write
    expect(s.result).toEqual({ output: '10', task_id: TASK_ID, logs: ['slow run 10'] });
  }, 60_000);
});
