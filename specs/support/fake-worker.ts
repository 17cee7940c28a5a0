import { createClient } from 'redis';
import { keyBuilder } from '../../queue/keys';

/**
 * A fake script worker: a minimal stand-in that speaks SPEC §4 from the other side, so
 * gateway specs can observe the task hash and drive replies. `answer` decides each
 * task's outcome from its hash fields.
 */
export interface FakeWorker {
  readonly seen: Record<string, string>[];
  stop(): Promise<void>;
}

export type Answer =
  { status: 'completed'; output: string } | { status: 'error'; error: string } | { status: 'none' };

export async function startFakeWorker(
  url: string,
  namespace: string,
  circle: string,
  answer: (task: Record<string, string>) => Answer | Promise<Answer>,
): Promise<FakeWorker> {
  const keys = keyBuilder(namespace);
  const client = createClient({ url });
  client.on('error', () => undefined);
  const blocking = client.duplicate();
  blocking.on('error', () => undefined);
  await Promise.all([client.connect(), blocking.connect()]);
  const seen: Record<string, string>[] = [];
  let running = true;
  const inflight = new Set<Promise<unknown>>();
  const loop = (async () => {
    while (running) {
      let id: string | null;
      try {
        id = await blocking.blMove(
          keys.workQueue(circle),
          keys.processing(circle, 'test'),
          'RIGHT',
          'LEFT',
          0.2,
        );
      } catch {
        if (!running) break;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (!id) continue;
      const task = await client.hGetAll(keys.task(id));
      seen.push(task);
      const job = Promise.resolve(answer(task)).then(async (a) => {
        if (a.status === 'none') return;
        const fields: Record<string, string> =
          a.status === 'completed'
            ? { status: a.status, output: a.output }
            : { status: a.status, error: a.error };
        await client.hSet(keys.task(id!), { ...fields, updatedAt: new Date().toISOString() });
        await client.lPush(task.replyToQueue!, JSON.stringify({ taskId: id, ...fields }));
        await client.lRem(keys.processing(circle, 'test'), 1, id!);
      });
      // stop() waits for answers being written; a Redis outage mid-answer is the spec's business
      const tracked = job.catch(() => undefined).finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      blocking.destroy();
      await loop;
      await Promise.all([...inflight]);
      client.destroy();
    },
  };
}
