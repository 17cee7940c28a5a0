/**
 * Baseline consumer (child process) for the raw Redis queue round trip: takes task ids in
 * batches (BLMPOP … COUNT n — the batched pop PERF.md names as the fair ceiling; a
 * one-at-a-time BLMOVE caps at ≈ 4.5 k/s) and LPUSHes them back onto the reply list, one
 * multi-value LPUSH per batch. No task hash, no script: only the queue round trip.
 * argv: <redis-url> <queue> <reply-queue> <batch>
 */
import { createClient } from 'redis';

async function main(): Promise<void> {
  const [url, queue, reply, batchText] = process.argv.slice(2) as [string, string, string, string];
  const batch = Number(batchText) || 64;
  const blocker = createClient({ url });
  const writer = createClient({ url });
  await Promise.all([blocker.connect(), writer.connect()]);
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  process.stdout.write('consumer ready\n');
  while (!stopping) {
    const popped = (await blocker.blmPop(1, queue, 'RIGHT', { COUNT: batch })) as [string, string[]] | null;
    if (popped && popped[1].length) void writer.lPush(reply, popped[1]);
  }
  await Promise.allSettled([blocker.close(), writer.close()]);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
