import { start, stop } from 'nact';
import { spawnCircleServer, type CircleServerHandle } from '../../server/circle-server';
import { silentLogger } from '../../log';
import type { DispatchBackend } from '../../queue/dispatch-backend';
import { EmbeddedTaskBackend } from '../../queue/embedded-backend';
import { createRedisDispatch } from '../../queue/redis-dispatch';
import { startWorker, type WorkerBackend, type WorkerHandle } from '../../worker';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';

/**
 * Serializable per circle, across servers, workers and threads: concurrent read-modify-write
 * plays of one circle lose no update, whichever of two workers runs each (the case that lost
 * 235 of 400 increments when each script got a snapshot and writes were applied blindly).
 */

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const SESSIONS = 16;
const PLAYS_PER_SESSION = 25;
const INCREMENT =
  'let n = store_get("counter"); let m = if n == () { 1 } else { n + 1 }; store_set("counter", m); m';

interface Deployment {
  servers: CircleServerHandle[];
  close(): Promise<void>;
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

async function deploy(
  channels: () => DispatchBackend,
  workerBackend: (workerId: string) => WorkerBackend | undefined,
  redisUrl?: string,
  namespace?: string,
): Promise<Deployment> {
  const system = start();
  const logger = silentLogger();
  const workers: WorkerHandle[] = [];
  for (const workerId of ['iso-w1', 'iso-w2']) {
    workers.push(
      await startWorker(
        { circles: [CIRCLE], concurrency: 2, workerId, redisUrl, namespace },
        { logger, backend: workerBackend(workerId) },
      ),
    );
  }
  const servers: CircleServerHandle[] = [];
  for (let i = 0; i < 2; i++) {
    servers.push(
      await spawnCircleServer(
        system,
        { port: 0, circles: [CIRCLE], logLevel: 'silent', redisUrl },
        { logger, backend: channels() },
      ),
    );
  }
  return {
    servers,
    async close() {
      for (const server of servers) await server.stop();
      for (const worker of workers) await worker.stop();
      stop(system);
    },
  };
}

/** 16 sessions over both servers, each with 25 increments in flight at once. */
async function incrementConcurrently(
  servers: CircleServerHandle[],
): Promise<{ outputs: number[]; final: number }> {
  const clients = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) => RpcClient.connect(`${servers[i % 2]!.url}/${CIRCLE}`)),
  );
  const answers = await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: PLAYS_PER_SESSION }, () => c.request('play', [INCREMENT], 60_000)),
    ),
  );
  const failed = answers.filter((a) => a.error);
  expect(failed).toEqual([]);
  const outputs = answers.map((a) => Number((a.result as { output: string }).output));
  const final = Number((await clients[0]!.call('play', ['store_get("counter")'])).output);
  await Promise.all(clients.map((c) => c.close()));
  return { outputs, final };
}

function expectOneAtATime({ outputs, final }: { outputs: number[]; final: number }): void {
  const total = SESSIONS * PLAYS_PER_SESSION;
  expect(final).toBe(total);
  // each play saw every play committed before it: the values it returned are exactly 1..400
  expect([...outputs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
}

describe('store-using plays of one circle, 2 servers + 2 workers', () => {
  it('on Redis: 400 concurrent increments end at 400, each value returned once', async () => {
    const namespace = redis.namespace();
    const d = await deploy(
      () => createRedisDispatch({ url: redis.url, namespace, logger: silentLogger() }),
      () => undefined,
      redis.url,
      namespace,
    );
    try {
      expectOneAtATime(await incrementConcurrently(d.servers));
    } finally {
      await d.close();
    }
  }, 60_000);

  it('on the embedded database: the same', async () => {
    const db = await EmbeddedTaskBackend.temporary();
    const d = await deploy(
      () => db.dispatch(),
      (workerId) => db.worker({ workerId, circles: [CIRCLE], taskTtlS: 60 }),
    );
    try {
      expectOneAtATime(await incrementConcurrently(d.servers));
    } finally {
      await d.close();
      await db.close();
    }
  }, 60_000);
});
