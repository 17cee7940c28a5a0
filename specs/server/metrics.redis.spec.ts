import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Wallet } from 'ethers';
import { start, stop as stopSystem } from 'nact';
import pino from 'pino';
import { launchCircles } from '../../launcher/launch';
import { silentLogger } from '../../log';
import { createMetrics } from '../../server/metrics';
import type { DispatchBackend } from '../../queue/dispatch-backend';
import { EmbeddedTaskBackend } from '../../queue/embedded-backend';
import { keyBuilder } from '../../queue/keys';
import { createRedisDispatch } from '../../queue/redis-dispatch';
import { startWorker, type WorkerHandle } from '../../worker';
import { startGateway, type TestGateway } from '../support/gateway';
import { sample, scrape } from '../support/prometheus-text';
import type { TestRedis } from '../support/redis-server';
import { startRedisAndClient, startRedisWorker, type RedisClient } from '../support/redis-tasks';
import { RpcClient } from '../support/rpc-client';
import { startFakeWorker } from '../support/fake-worker';
import { until } from '../support/until';

/**
 * The gateway's operational metrics (issue 11): process metrics, plays in flight, the
 * transport, and per served circle the queue depth and oldest task age read at scrape time;
 * and the backends' readiness (a live worker per circle).
 */

/** Valid circle keys (G and 2G). */
const CIRCLE = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const OTHER = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';

let redis: TestRedis;
let client: RedisClient;
let stopRedis: () => Promise<void>;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  ({ redis, client, stop: stopRedis } = await startRedisAndClient());
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});
afterAll(() => stopRedis());

async function gateway(ns: string, circles: string[]): Promise<TestGateway> {
  const gw = await startGateway(redis.url, ns, { circles, playTimeoutMs: 20_000 });
  cleanup.push(() => gw.stop());
  return gw;
}

async function redisWorker(ns: string, circles: string[] = [CIRCLE]): Promise<WorkerHandle> {
  const worker = await startRedisWorker(redis.url, ns, { circles, concurrency: 1 });
  cleanup.push(() => worker.stop());
  return worker;
}

async function redisDispatch(ns: string): Promise<DispatchBackend> {
  const d = createRedisDispatch({ url: redis.url, namespace: ns, logger: silentLogger() });
  await d.start(() => undefined);
  cleanup.push(() => d.close());
  return d;
}

describe('gateway /metrics', () => {
  it('serves the process metrics, plays in flight and the transport in use', async () => {
    const gw = await gateway(redis.namespace(), [CIRCLE]);
    let text = await scrape(gw);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(sample(text, 'circles_plays_in_flight')).toBe(0);
    const transport = gw.server.transport;
    expect(sample(text, 'circles_transport_info', { transport })).toBe(1);
    expect(sample(text, 'circles_transport_info', { transport: transport === 'ws' ? 'uws' : 'ws' })).toBe(
      undefined,
    );

    // no worker: the play waits
    const ws = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    cleanup.push(() => ws.close());
    const answered = ws.call<{ output: string }>('play', { script: '40 + 2' });
    await until(
      async () => (sample(await scrape(gw), 'circles_plays_in_flight') === 1 ? true : undefined),
      'one play in flight',
    );
    await redisWorker(gw.namespace);
    expect((await answered).output).toBe('42');
    text = await scrape(gw);
    expect(sample(text, 'circles_plays_in_flight')).toBe(0);
  });

  it('reports queue depth and oldest task age of a served circle, back to 0 once a worker takes it', async () => {
    const gw = await gateway(redis.namespace(), [CIRCLE]);
    let text = await scrape(gw);
    expect(sample(text, 'circles_queue_depth', { circle: CIRCLE })).toBe(0);
    expect(sample(text, 'circles_queue_oldest_task_age_seconds', { circle: CIRCLE })).toBe(0);

    const ws = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    cleanup.push(() => ws.close());
    const answered = ws.call<{ output: string }>('play', { script: '"taken"' });
    text = await until(async () => {
      const t = await scrape(gw);
      return sample(t, 'circles_queue_depth', { circle: CIRCLE }) === 1 ? t : undefined;
    }, 'the task queued');
    await new Promise((r) => setTimeout(r, 250));
    text = await scrape(gw);
    const age = sample(text, 'circles_queue_oldest_task_age_seconds', { circle: CIRCLE })!;
    expect(age).toBeGreaterThanOrEqual(0.2);
    expect(age).toBeLessThan(30);
    // only served circles, never callers
    expect(text).not.toMatch(/^circles_queue_depth\{circle="(?!0279be)/m);

    await redisWorker(gw.namespace);
    expect((await answered).output).toBe('taken');
    text = await scrape(gw);
    expect(sample(text, 'circles_queue_depth', { circle: CIRCLE })).toBe(0);
    expect(sample(text, 'circles_queue_oldest_task_age_seconds', { circle: CIRCLE })).toBe(0);
  });

  it('has no per-circle queue series in development mode (no circles configured)', async () => {
    const gw = await gateway(redis.namespace(), []);
    const ws = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    cleanup.push(() => ws.close());
    void ws.call('play', { script: '1' }).catch(() => undefined);
    await until(
      async () => ((await client.lLen(keyBuilder(gw.namespace).workQueue(CIRCLE))) === 1 ? true : undefined),
      'queued',
    );
    const text = await scrape(gw);
    expect(text).toContain('# TYPE circles_queue_depth gauge');
    expect(text).not.toMatch(/^circles_queue_depth\{/m);
    expect(text).not.toMatch(/^circles_queue_oldest_task_age_seconds\{/m);
  });

  it('leaves the queue series out of a scrape when the backend does not answer', async () => {
    const metrics = createMetrics();
    metrics.watchQueues({ queueStats: () => Promise.reject(new Error('down')) }, [CIRCLE]);
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/^circles_queue_depth\{/m);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeDefined();
  });

  it('lets several gateways in one process each serve the process metrics', async () => {
    const a = createMetrics();
    const b = createMetrics();
    for (const m of [a, b]) {
      const text = await m.registry.metrics();
      expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
    }
  });
});

describe('debug log lines', () => {
  it('logs connections, logins and plays at debug, without nonces or signatures', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const ns = redis.namespace();
    const gw = await startGateway(
      redis.url,
      ns,
      { circles: [CIRCLE] },
      { logger: pino({ level: 'debug' }, sink) },
    );
    cleanup.push(() => gw.stop());
    const fakeWorker = await startFakeWorker(redis.url, ns, CIRCLE, () => ({
      status: 'completed',
      output: 'ok',
    }));
    cleanup.push(() => fakeWorker.stop());

    const wallet = new Wallet(`0x${randomBytes(32).toString('hex')}`);
    const pubkey = wallet.signingKey.compressedPublicKey;
    const ws = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    const { nonce } = await ws.call<{ nonce: string }>('fetch_nonce', { pubkey });
    const wrong = await wallet.signMessage('not the nonce');
    await expect(ws.call('authenticate', [pubkey, wrong])).rejects.toMatchObject({ code: -32002 });
    const { nonce: again } = await ws.call<{ nonce: string }>('fetch_nonce', { pubkey });
    const right = await wallet.signMessage(again);
    await ws.call('authenticate', [pubkey, right]);
    const { task_id } = await ws.call<{ task_id: string }>('play', { script: 'x' });
    await ws.close();

    const closed = await until(() => lines.find((l) => l.msg === 'connection closed'), 'connection closed');
    const opened = lines.find((l) => l.msg === 'connection opened');
    expect(opened).toMatchObject({ level: 20, circle: CIRCLE, session: expect.any(String) });
    expect(closed).toMatchObject({
      circle: CIRCLE,
      session: opened!.session,
      durationMs: expect.any(Number),
    });
    expect(lines.filter((l) => l.msg === 'login')).toEqual([
      expect.objectContaining({ outcome: 'failure', reason: 'bad_signature', session: opened!.session }),
      expect.objectContaining({
        outcome: 'success',
        pubkey: pubkey.replace(/^0x/, ''),
        session: opened!.session,
      }),
    ]);
    expect(lines.find((l) => l.msg === 'play')).toMatchObject({
      taskId: task_id,
      circle: CIRCLE,
      outcome: 'completed',
      durationMs: expect.any(Number),
    });
    const all = JSON.stringify(lines);
    for (const secret of [nonce, again, wrong.slice(2, 40), right.slice(2, 40)])
      expect(all).not.toContain(secret);
  });
});

describe('DispatchBackend.queueStats', () => {
  it('Redis: counts waiting ids and ages the oldest (the one taken next) in one call', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const d = await redisDispatch(ns);
    const queue = async (taskId: string, agoS: number): Promise<void> => {
      await client.hSet(keys.task(taskId), {
        taskId,
        createdAt: new Date(Date.now() - agoS * 1000).toISOString(),
      });
      await client.lPush(keys.workQueue(CIRCLE), taskId);
    };
    await queue('old', 30);
    await queue('new', 5);

    const stats = await d.queueStats([CIRCLE, OTHER]);

    expect(stats.get(CIRCLE)!.depth).toBe(2);
    expect(stats.get(CIRCLE)!.oldestAgeSeconds).toBeGreaterThanOrEqual(30);
    expect(stats.get(CIRCLE)!.oldestAgeSeconds).toBeLessThan(40);
    expect(stats.get(OTHER)).toEqual({ depth: 0, oldestAgeSeconds: 0 });
  });

  it('embedded: counts waiting ids and ages the oldest on its clock', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const db = await EmbeddedTaskBackend.temporary({ clock: () => now });
    cleanup.push(() => db.close());
    const d = db.dispatch();
    await d.submit({ taskId: randomUUID(), script: '1', callerId: 'c', contextId: CIRCLE }, 600);
    now += 7_000;
    await d.submit({ taskId: randomUUID(), script: '2', callerId: 'c', contextId: CIRCLE }, 600);
    now += 3_000;

    const stats = await d.queueStats([CIRCLE, OTHER]);

    expect(stats.get(CIRCLE)).toEqual({ depth: 2, oldestAgeSeconds: 10 });
    expect(stats.get(OTHER)).toEqual({ depth: 0, oldestAgeSeconds: 0 });
  });
});

describe('DispatchBackend.readiness', () => {
  it('Redis: not ready without a live worker for every circle, ready once one runs', async () => {
    const ns = redis.namespace();
    const d = await redisDispatch(ns);
    const before = await d.readiness([CIRCLE]);
    expect(before).toEqual({ ok: false, reason: expect.stringContaining(CIRCLE) });

    const worker = await redisWorker(ns, [CIRCLE]);
    expect(await d.readiness([CIRCLE])).toEqual({ ok: true });
    // a circle without a worker is named, the served one is not
    const partial = await d.readiness([CIRCLE, OTHER]);
    expect(partial.ok).toBe(false);
    expect(!partial.ok && partial.reason).toContain(OTHER);
    expect(!partial.ok && partial.reason).not.toContain(CIRCLE);

    // a registered worker whose liveness key expired does not count
    await worker.stop();
    const keys = keyBuilder(ns);
    await client.sAdd(keys.circleWorkers(CIRCLE), 'gone');
    expect((await d.readiness([CIRCLE])).ok).toBe(false);
    await client.set(keys.workerAlive('gone'), '{}');
    expect(await d.readiness([CIRCLE])).toEqual({ ok: true });
  });

  it('Redis: not ready when Redis does not answer', async () => {
    const d = createRedisDispatch({ url: 'redis://127.0.0.1:1', logger: silentLogger() });
    cleanup.push(() => d.close());
    expect(await d.readiness([CIRCLE])).toEqual({ ok: false, reason: 'redis is not connected' });
  });

  it('embedded: ready while an in-process worker takes tasks for the circles', async () => {
    const db = await EmbeddedTaskBackend.temporary();
    let closed = false;
    cleanup.push(() => (closed ? Promise.resolve() : db.close()));
    const d = db.dispatch();
    expect((await d.readiness([CIRCLE])).ok).toBe(false);

    const worker = await startWorker(
      { circles: [CIRCLE], concurrency: 1, workerId: 'embedded' },
      {
        logger: silentLogger(),
        backend: db.worker({ workerId: 'embedded', circles: [CIRCLE], taskTtlS: 60 }),
      },
    );
    cleanup.push(() => worker.stop());
    expect(await d.readiness([CIRCLE])).toEqual({ ok: true });
    expect(await d.readiness([CIRCLE, OTHER])).toEqual({
      ok: false,
      reason: `no live worker for circle ${OTHER}`,
    });

    await worker.stop();
    expect((await d.readiness([CIRCLE])).ok).toBe(false);
    await db.close();
    closed = true;
    expect(await d.readiness([])).toEqual({ ok: false, reason: 'embedded backend closed' });
  });
});

describe('launcher', () => {
  it("serves its in-process worker's series on the gateway's /metrics, process metrics once", async () => {
    const system = start();
    const launched = await launchCircles(system, {
      circles: [{ pk: CIRCLE }],
      temporaryData: true,
      concurrency: 1,
      server: { port: 0, logLevel: 'silent' },
      logger: silentLogger(),
    });
    cleanup.push(async () => {
      await launched.stop();
      stopSystem(system);
    });
    const http = launched.server.url.replace(/^ws/, 'http');
    const ws = await RpcClient.connect(`${launched.server.url}/${CIRCLE}`);
    cleanup.push(() => ws.close());
    expect((await ws.call<{ output: string }>('play', { script: '6 * 7' })).output).toBe('42');
    await expect(ws.call('play', { script: '1 + true' })).rejects.toMatchObject({ code: -32000 });

    const text = await scrape({ http });
    expect(sample(text, 'circles_worker_tasks_completed_total')).toBe(1);
    expect(sample(text, 'circles_worker_tasks_failed_total', { reason: 'script' })).toBe(1);
    expect(sample(text, 'circles_plays_total', { outcome: 'completed' })).toBe(1);
    expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
    expect(sample(text, 'circles_queue_depth', { circle: CIRCLE })).toBe(0);
  });
});
