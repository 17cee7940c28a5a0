import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../log';
import type { DispatchBackend } from '../../queue/dispatch-backend';
import { EmbeddedTaskBackend } from '../../queue/embedded-backend';
import { createRedisDispatch } from '../../queue/redis-dispatch';
import { connectRedisBackend } from '../../queue/redis-worker';
import type { TaskReply } from '../../queue/task';
import type { ClaimedTask, HeldTask, StoreEffects, WorkerBackend } from '../../queue/worker-backend';
import { startRedis, type TestRedis } from '../support/redis-server';
import { until } from '../support/until';

/**
 * One contract, two backends: the task protocol and the circle store behave the same on
 * Redis and on the embedded database (the launcher's default).
 */

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const B = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';

interface Pair {
  dispatch: DispatchBackend;
  worker: WorkerBackend;
  replies: TaskReply[];
  /** Another worker of the same circles, with its own id. */
  another(workerId: string): Promise<WorkerBackend>;
  close(): Promise<void>;
}

interface Setup {
  circles: string[];
  storeQuotaBytes?: number;
}

type Factory = (setup: Setup) => Promise<Pair>;

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

async function pair(
  dispatch: DispatchBackend,
  worker: WorkerBackend,
  another: (workerId: string) => Promise<WorkerBackend>,
  after: () => Promise<void> = async () => undefined,
): Promise<Pair> {
  const replies: TaskReply[] = [];
  const others: WorkerBackend[] = [];
  await dispatch.start((r) => replies.push(...r));
  return {
    dispatch,
    worker,
    replies,
    async another(workerId) {
      const other = await another(workerId);
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await worker.close();
      await dispatch.close();
      await after();
    },
  };
}

const factories: [string, Factory][] = [
  [
    'embedded',
    async ({ circles, storeQuotaBytes }) => {
      const db = await EmbeddedTaskBackend.temporary({ storeQuotaBytes });
      const worker = (workerId: string) => db.worker({ workerId, circles, taskTtlS: 60 });
      return pair(
        db.dispatch(),
        worker('w1'),
        async (id) => worker(id),
        () => db.close(),
      );
    },
  ],
  [
    'redis',
    async ({ circles, storeQuotaBytes }) => {
      const namespace = redis.namespace();
      const logger = silentLogger();
      const worker = (workerId: string) =>
        connectRedisBackend({
          redisUrl: redis.url,
          namespace,
          workerId,
          circles,
          taskTtlS: 60,
          livenessTtlS: 30,
          storeQuotaBytes,
          logger,
        });
      return pair(createRedisDispatch({ url: redis.url, namespace, logger }), await worker('w1'), worker);
    },
  ],
];

const now = (): string => new Date().toISOString();
const tasksOf = (claimed: readonly ClaimedTask[]): HeldTask[] => claimed.map((c) => c.task);
const idsOf = (claimed: readonly ClaimedTask[]): string[] => claimed.map((c) => c.task.taskId);

describe.each(factories)('%s task backend', (_name, make) => {
  let p: Pair;
  afterEach(() => p?.close());

  const submit = (contextId: string, script: string, input?: string) => {
    const taskId = randomUUID();
    return p.dispatch
      .submit({ taskId, script, callerId: 'anonymous', contextId, input }, 120)
      .then(() => taskId);
  };

  /** Submits a task for circle `pk` and takes it (with worker `w`, default the pair's). */
  const held = async (pk: string, w: WorkerBackend = p.worker): Promise<HeldTask> => {
    const id = await submit(pk, 'x');
    const got = (await w.take(10, 500)).find((c) => c.task.taskId === id);
    if (!got) throw new Error('task not taken');
    return got.task;
  };

  /** Commits `store` as a completed task of circle `pk`. */
  const commit = async (pk: string, store: StoreEffects, w: WorkerBackend = p.worker) =>
    (await w.complete([{ task: await held(pk, w), status: 'completed', text: '', store }], now()))[0];

  const versionOf = async (pk: string, key: string) => (await p.worker.readKeys(pk, [key]))[0]!.version;

  it('delivers tasks FIFO, claimed with their fields, and routes the reply back', async () => {
    p = await make({ circles: [A] });
    const ids = [await submit(A, 'one'), await submit(A, 'two', '{"x":1}')];
    const claimed = await p.worker.take(10, 500);
    expect(idsOf(claimed)).toEqual(ids);
    const hashes = claimed.map((c) => c.stored);
    expect(hashes[0]).toMatchObject({
      script: 'one',
      callerId: 'anonymous',
      contextId: A,
      status: 'pending',
    });
    expect(hashes[1]).toMatchObject({ script: 'two', input: '{"x":1}' });
    expect(hashes[0]!.replyToQueue).toBeTruthy();
    const written = await p.worker.complete(
      [
        { task: claimed[0]!.task, status: 'completed', text: '1', replyToQueue: hashes[0]!.replyToQueue },
        { task: claimed[1]!.task, status: 'error', text: 'bad', replyToQueue: hashes[1]!.replyToQueue },
      ],
      now(),
    );
    expect(written).toEqual(['written', 'written']);
    await until(() => (p.replies.length === 2 ? true : undefined), 'replies');
    expect(p.replies).toEqual([
      { taskId: ids[0], status: 'completed', output: '1' },
      { taskId: ids[1], status: 'error', error: 'bad' },
    ]);
    expect(await p.worker.listHeld()).toEqual([]);
  });

  it('marks taken tasks processing, and completes a task once only', async () => {
    p = await make({ circles: [A] });
    await submit(A, 'x');
    const [claimed] = await p.worker.take(1, 500);
    expect(claimed!.stored!.status).toBe('pending');
    await p.worker.requeue([claimed!.task]);
    const [again] = await p.worker.take(1, 500);
    expect(again!.stored!.status).toBe('processing');
    const task = again!.task;
    expect(await p.worker.complete([{ task, status: 'completed', text: 'ok' }], now())).toEqual(['written']);
    expect(await p.worker.complete([{ task, status: 'completed', text: 'twice' }], now())).toEqual([
      'not-held',
    ]);
  });

  it('a blocked take wakes when work arrives, and stopTaking ends it', async () => {
    p = await make({ circles: [A] });
    const waiting = p.worker.take(5, 3000);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const id = await submit(A, 'late');
    expect(idsOf(await waiting)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(2500);
    const parked = p.worker.take(5, 3000);
    await p.worker.stopTaking();
    expect(await parked).toEqual([]);
  });

  it('serves only its circles, fairly', async () => {
    p = await make({ circles: [A, B] });
    for (let i = 0; i < 3; i++) await submit(A, `a${i}`);
    await submit(B, 'b0');
    const other = '02' + '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
    await submit(other, 'not mine');
    const first = await p.worker.take(2, 500);
    expect(new Set(tasksOf(first).map((h) => h.circlePk))).toEqual(new Set([A, B]));
    const rest = await p.worker.take(10, 200);
    expect(rest).toHaveLength(2);
    expect(rest.every((c) => c.task.circlePk === A)).toBe(true);
  });

  it('requeues held work to run next', async () => {
    p = await make({ circles: [A] });
    const first = await submit(A, 'first');
    await submit(A, 'second');
    const [h] = await p.worker.take(1, 500);
    expect(h!.task.taskId).toBe(first);
    expect(await p.worker.requeue([h!.task])).toBe(1);
    expect((await p.worker.take(1, 500))[0]!.task.taskId).toBe(first);
  });

  it('submits a batch atomically, each task to its own circle', async () => {
    p = await make({ circles: [A, B] });
    const tasks = ['x', 'y', 'z'].map((script, i) => ({
      taskId: randomUUID(),
      script,
      callerId: 'anonymous',
      contextId: i === 1 ? B : A,
      input: i === 2 ? '{"e":1}' : undefined,
    }));
    await p.dispatch.submitBatch(tasks, 120);
    const claimed = await p.worker.take(10, 500);
    expect(idsOf(claimed).sort()).toEqual(tasks.map((t) => t.taskId).sort());
    for (const { task, stored } of claimed) {
      const t = tasks.find((x) => x.taskId === task.taskId)!;
      expect(task.circlePk).toBe(t.contextId);
      expect(stored).toMatchObject({ script: t.script, contextId: t.contextId, status: 'pending' });
      expect(stored!.input).toBe(t.input);
    }
  });

  it('markOnce is true only the first time, and again after unmark', async () => {
    p = await make({ circles: [A] });
    const key = `marker:${randomUUID()}`;
    expect(await p.dispatch.markOnce(key, 60)).toBe(true);
    expect(await p.dispatch.markOnce(key, 60)).toBe(false);
    await p.dispatch.unmark(key);
    expect(await p.dispatch.markOnce(key, 60)).toBe(true);
    expect((await p.dispatch.health()).ok).toBe(true);
  });

  it('exactly once: a re-queued task completes for its new holder only, with one reply', async () => {
    p = await make({ circles: [A] });
    const w2 = await p.another('w2');
    await submit(A, 'x');
    const [first] = await p.worker.take(1, 500);
    // as a reclaim of a presumed-dead worker would
    await p.worker.requeue([first!.task]);
    const [second] = await w2.take(1, 500);
    expect(second!.task.taskId).toBe(first!.task.taskId);
    const replyToQueue = first!.stored!.replyToQueue;
    const effects: StoreEffects = { reads: [], sets: [['k', '1']], deletes: [] };
    expect(
      await w2.complete(
        [{ task: second!.task, status: 'completed', text: 'w2', replyToQueue, store: effects }],
        now(),
      ),
    ).toEqual(['written']);
    expect(
      await p.worker.complete([{ task: first!.task, status: 'completed', text: 'w1', replyToQueue }], now()),
    ).toEqual(['not-held']);
    await until(() => (p.replies.length === 1 ? true : undefined), 'reply');
    await new Promise((r) => setTimeout(r, 50));
    expect(p.replies).toEqual([{ taskId: first!.task.taskId, status: 'completed', output: 'w2' }]);
  });

  describe('circle store', () => {
    it('reads keys on demand with versions; a missing key has one too', async () => {
      p = await make({ circles: [A] });
      const [missing] = await p.worker.readKeys(A, ['k']);
      expect(missing).toEqual({ value: null, version: '0' });
      expect(
        await commit(A, {
          reads: [['k', '0']],
          sets: [
            ['k', '{"v":1}'],
            ['j', '2'],
          ],
          deletes: [],
        }),
      ).toBe('written');
      const [k, j, none] = await p.worker.readKeys(A, ['k', 'j', 'none']);
      expect(k!.value).toBe('{"v":1}');
      expect(k!.version).not.toBe('0');
      expect(j!.value).toBe('2');
      expect(none).toEqual({ value: null, version: '0' });
      await commit(A, { reads: [], sets: [['k', '3']], deletes: [] });
      expect(await versionOf(A, 'k')).not.toBe(k!.version);
      await commit(A, { reads: [], sets: [], deletes: ['k'] });
      expect(await p.worker.readKeys(A, ['k'])).toEqual([{ value: null, version: '0' }]);
    });

    it("keeps each circle's store to itself", async () => {
      p = await make({ circles: [A, B] });
      await commit(B, { reads: [], sets: [['k', '"b"']], deletes: [] });
      expect((await p.worker.readKeys(A, ['k']))[0]!.value).toBeNull();
      expect((await p.worker.readKeys(B, ['k']))[0]!.value).toBe('"b"');
      expect((await p.worker.listKeys(A, '', 10)).keys).toEqual([]);
      expect((await p.worker.listKeys(B, '', 10)).keys).toEqual(['k']);
    });

    it('refuses a commit whose reads went stale, writing nothing; a fresh run commits', async () => {
      p = await make({ circles: [A] });
      await commit(A, { reads: [], sets: [['n', '1']], deletes: [] });
      const seen = await versionOf(A, 'n');
      const absent = await versionOf(A, 'other');
      // another play commits n meanwhile
      await commit(A, { reads: [['n', seen]], sets: [['n', '2']], deletes: [] });
      const task = await held(A);
      const stale = {
        reads: [['n', seen]] as [string, string][],
        sets: [
          ['n', '2'],
          ['x', '1'],
        ] as [string, string][],
        deletes: [],
      };
      expect(
        await p.worker.complete([{ task, status: 'completed', text: 'stale', store: stale }], now()),
      ).toEqual(['conflict']);
      expect((await p.worker.readKeys(A, ['n', 'x'])).map((e) => e.value)).toEqual(['2', null]);
      // still held: the worker runs it again on fresh data and commits
      expect((await p.worker.listHeld()).map((h) => h.taskId)).toContain(task.taskId);
      const fresh = await versionOf(A, 'n');
      expect(
        await p.worker.complete(
          [
            {
              task,
              status: 'completed',
              text: 'ok',
              store: {
                reads: [
                  ['n', fresh],
                  ['other', absent],
                ],
                sets: [['n', '3']],
                deletes: [],
              },
            },
          ],
          now(),
        ),
      ).toEqual(['written']);
      expect((await p.worker.readKeys(A, ['n']))[0]!.value).toBe('3');
    });

    it('checks an absent read too: a key created meanwhile is a conflict', async () => {
      p = await make({ circles: [A] });
      const task = await held(A);
      await commit(A, { reads: [], sets: [['k', '1']], deletes: [] });
      expect(
        await p.worker.complete(
          [{ task, status: 'completed', text: '', store: { reads: [['k', '0']], sets: [], deletes: [] } }],
          now(),
        ),
      ).toEqual(['conflict']);
    });

    it('checks reads of failed scripts, but applies only completed writes', async () => {
      p = await make({ circles: [A] });
      const effects: StoreEffects = { reads: [['r', '0']], sets: [['w', '1']], deletes: [] };
      const task = await held(A);
      expect(
        await p.worker.complete([{ task, status: 'error', text: 'boom', store: effects }], now()),
      ).toEqual(['written']);
      expect((await p.worker.readKeys(A, ['w']))[0]!.value).toBeNull();
      await commit(A, { reads: [], sets: [['r', '1']], deletes: [] });
      const late = await held(A);
      expect(
        await p.worker.complete([{ task: late, status: 'error', text: 'boom', store: effects }], now()),
      ).toEqual(['conflict']);
    });

    it('applies the outcomes of one call in order, each seeing the writes before it', async () => {
      p = await make({ circles: [A] });
      const [t1, t2] = [await held(A), await held(A)];
      const both: StoreEffects = { reads: [['c', '0']], sets: [['c', '1']], deletes: [] };
      expect(
        await p.worker.complete(
          [
            { task: t1, status: 'completed', text: '', store: both },
            { task: t2, status: 'completed', text: '', store: both },
          ],
          now(),
        ),
      ).toEqual(['written', 'conflict']);
    });

    it('lists keys by prefix in UTF-8 byte order, one more than the limit, with a key-set version', async () => {
      p = await make({ circles: [A] });
      const keys = ['user:b', 'user:a', 'user:é', 'user:z', 'users', 'admin', 'user:\u{1F600}'];
      await commit(A, { reads: [], sets: keys.map((k) => [k, '1'] as [string, string]), deletes: [] });
      const all = await p.worker.listKeys(A, 'user:', 100);
      expect(all.keys).toEqual(['user:a', 'user:b', 'user:z', 'user:é', 'user:\u{1F600}']);
      expect((await p.worker.listKeys(A, 'user:', 2)).keys).toEqual(['user:a', 'user:b', 'user:z']);
      expect((await p.worker.listKeys(A, '', 100)).keys).toHaveLength(keys.length);
      // an update keeps the key set's version; a creation or deletion changes it
      await commit(A, { reads: [], sets: [['user:a', '2']], deletes: [] });
      expect((await p.worker.listKeys(A, 'user:', 100)).version).toBe(all.version);
      const task = await held(A);
      await commit(A, { reads: [], sets: [['user:c', '1']], deletes: [] });
      expect(
        await p.worker.complete(
          [
            {
              task,
              status: 'completed',
              text: '',
              store: { reads: [], listed: all.version, sets: [], deletes: [] },
            },
          ],
          now(),
        ),
      ).toEqual(['conflict']);
      await commit(A, { reads: [], sets: [], deletes: ['user:c'] });
      expect((await p.worker.listKeys(A, 'user:', 100)).version).not.toBe(all.version);
    });

    it('refuses writes over the quota, writing nothing; deletes make room', async () => {
      p = await make({ circles: [A], storeQuotaBytes: 100 });
      expect(await commit(A, { reads: [], sets: [['a', 'x'.repeat(60)]], deletes: [] })).toBe('written');
      const task = await held(A);
      const over: StoreEffects = { reads: [], sets: [['b', 'y'.repeat(60)]], deletes: [] };
      expect(await p.worker.complete([{ task, status: 'completed', text: '', store: over }], now())).toEqual([
        'quota',
      ]);
      expect((await p.worker.readKeys(A, ['b']))[0]!.value).toBeNull();
      expect(await commit(A, { reads: [], sets: [['b', 'y'.repeat(60)]], deletes: ['a'] })).toBe('written');
    });
  });
});
