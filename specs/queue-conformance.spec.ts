import { randomUUID } from 'node:crypto';
import { silentLogger } from '../log';
import type { DispatchBackend } from '../queue/dispatch-backend';
import { MemoryTaskBackend } from '../queue/memory-backend';
import { createRedisDispatch } from '../queue/redis-dispatch';
import type { TaskReply } from '../queue/task';
import type { WorkerBackend } from '../worker/backend';
import { connectRedisBackend } from '../worker/redis-backend';
import { startRedis, type TestRedis } from './support/redis-server';

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const B = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';

interface Pair {
  dispatch: DispatchBackend;
  worker: WorkerBackend;
  replies: TaskReply[];
  close(): Promise<void>;
}

type Factory = (circles: string[]) => Promise<Pair>;

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

async function pair(
  dispatch: DispatchBackend,
  worker: WorkerBackend,
  after: () => void = () => undefined,
): Promise<Pair> {
  const replies: TaskReply[] = [];
  await dispatch.start((r) => replies.push(...r));
  return {
    dispatch,
    worker,
    replies,
    async close() {
      await worker.close();
      await dispatch.close();
      after();
    },
  };
}

const factories: [string, Factory][] = [
  [
    'embedded',
    async (circles) => {
      const mem = new MemoryTaskBackend();
      return pair(mem.dispatch(), mem.worker({ workerId: 'w1', circles, taskTtlS: 60 }), () => mem.close());
    },
  ],
  [
    'redis',
    async (circles) => {
      const namespace = redis.namespace();
      const logger = silentLogger();
      return pair(
        createRedisDispatch({ url: redis.url, namespace, logger }),
        await connectRedisBackend({
          redisUrl: redis.url,
          namespace,
          workerId: 'w1',
          circles,
          taskTtlS: 60,
          livenessTtlS: 30,
          logger,
        }),
      );
    },
  ],
];

async function until<T>(probe: () => T | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(factories)('%s task backend', (_name, make) => {
  let p: Pair;
  afterEach(() => p?.close());

  const submit = (contextId: string, script: string, input?: string) => {
    const taskId = randomUUID();
    return p.dispatch
      .submit({ taskId, script, callerId: 'anonymous', contextId, input }, 120)
      .then(() => taskId);
  };

  it('delivers tasks FIFO, with their fields, and routes the reply back', async () => {
    p = await make([A]);
    const ids = [await submit(A, 'one'), await submit(A, 'two', '{"x":1}')];
    const held = await p.worker.take(10, 500);
    expect(held.map((h) => h.taskId)).toEqual(ids);
    const hashes = await p.worker.claimTasks(held, new Date().toISOString());
    expect(hashes[0]).toMatchObject({
      taskId: ids[0],
      script: 'one',
      callerId: 'anonymous',
      contextId: A,
      status: 'pending',
    });
    expect(hashes[1]).toMatchObject({ script: 'two', input: '{"x":1}' });
    expect(hashes[0]!.replyToQueue).toBeTruthy();
    const written = await p.worker.complete(
      [
        { task: held[0]!, status: 'completed', text: '1', replyToQueue: hashes[0]!.replyToQueue },
        { task: held[1]!, status: 'error', text: 'bad', replyToQueue: hashes[1]!.replyToQueue },
      ],
      new Date().toISOString(),
    );
    expect(written).toEqual([true, true]);
    await until(() => (p.replies.length === 2 ? true : undefined), 'replies');
    expect(p.replies).toEqual([
      { taskId: ids[0], status: 'completed', output: '1' },
      { taskId: ids[1], status: 'error', error: 'bad' },
    ]);
    expect(await p.worker.listHeld()).toEqual([]);
  });

  it('marks claimed tasks processing, and leaves finished ones alone', async () => {
    p = await make([A]);
    const id = await submit(A, 'x');
    const held = await p.worker.take(1, 500);
    await p.worker.claimTasks(held, new Date().toISOString());
    const again = await p.worker.claimTasks(held, new Date().toISOString());
    expect(again[0]!.status).toBe('processing');
    await p.worker.complete([{ task: held[0]!, status: 'completed', text: 'ok' }], new Date().toISOString());
    expect(
      (
        await p.worker.complete(
          [{ task: held[0]!, status: 'completed', text: 'twice' }],
          new Date().toISOString(),
        )
      )[0],
    ).toBe(false);
    expect(id).toBeTruthy();
  });

  it('a blocked take wakes when work arrives, and stopTaking ends it', async () => {
    p = await make([A]);
    const waiting = p.worker.take(5, 3000);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const id = await submit(A, 'late');
    expect((await waiting).map((h) => h.taskId)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(2500);
    const parked = p.worker.take(5, 3000);
    await p.worker.stopTaking();
    expect(await parked).toEqual([]);
  });

  it('serves only its circles, fairly', async () => {
    p = await make([A, B]);
    for (let i = 0; i < 3; i++) await submit(A, `a${i}`);
    await submit(B, 'b0');
    const other = '02' + '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
    await submit(other, 'not mine');
    const held = await p.worker.take(2, 500);
    expect(new Set(held.map((h) => h.circlePk))).toEqual(new Set([A, B]));
    const rest = await p.worker.take(10, 200);
    expect(rest).toHaveLength(2);
    expect(rest.every((h) => h.circlePk === A)).toBe(true);
  });

  it('requeues held work to run next, and applies store writes per circle', async () => {
    p = await make([A, B]);
    const first = await submit(A, 'first');
    await submit(A, 'second');
    const [h] = await p.worker.take(1, 500);
    expect(h!.taskId).toBe(first);
    expect(await p.worker.requeue([h!])).toBe(1);
    expect((await p.worker.take(1, 500))[0]!.taskId).toBe(first);
    const [bTask] = await (async () => {
      await submit(B, 'b');
      const got = await p.worker.take(10, 500);
      return got.filter((t) => t.circlePk === B);
    })();
    await p.worker.claimTasks([bTask!], new Date().toISOString());
    await p.worker.complete(
      [{ task: bTask!, status: 'completed', text: '', storeWrites: { sets: { k: '{"v":1}' }, deletes: [] } }],
      new Date().toISOString(),
    );
    expect(await p.worker.loadStore(B)).toEqual({ k: '{"v":1}' });
    expect(await p.worker.loadStore(A)).toEqual({});
  });

  it('submits a batch atomically, each task to its own circle', async () => {
    p = await make([A, B]);
    const tasks = ['x', 'y', 'z'].map((script, i) => ({
      taskId: randomUUID(),
      script,
      callerId: 'anonymous',
      contextId: i === 1 ? B : A,
      input: i === 2 ? '{"e":1}' : undefined,
    }));
    await p.dispatch.submitBatch(tasks, 120);
    const held = await p.worker.take(10, 500);
    expect(held.map((h) => h.taskId).sort()).toEqual(tasks.map((t) => t.taskId).sort());
    const hashes = await p.worker.claimTasks(held, new Date().toISOString());
    for (const [i, h] of held.entries()) {
      const t = tasks.find((x) => x.taskId === h.taskId)!;
      expect(h.circlePk).toBe(t.contextId);
      expect(hashes[i]).toMatchObject({ script: t.script, contextId: t.contextId, status: 'pending' });
      expect(hashes[i]!.input).toBe(t.input);
    }
  });

  it('markOnce is true only the first time, and again after unmark', async () => {
    p = await make([A]);
    const key = `marker:${randomUUID()}`;
    expect(await p.dispatch.markOnce(key, 60)).toBe(true);
    expect(await p.dispatch.markOnce(key, 60)).toBe(false);
    await p.dispatch.unmark(key);
    expect(await p.dispatch.markOnce(key, 60)).toBe(true);
    expect((await p.dispatch.health()).ok).toBe(true);
  });
});
