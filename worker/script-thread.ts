/**
 * Entry of a script thread (see ScriptPool): runs the jobs it is sent, one after another,
 * bumping the shared progress counter as each starts so the pool can tell which one
 * overran. Results go back in small groups: per job would cost a message each, per chunk
 * would hold fast results behind a slow script.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WorkerErrorKind } from './error-kinds';
import { channelStores, ScriptRunner } from './run-script';
import { StoreChannelClient } from './store-channel';
import type { RunChunkMessage, ScriptResult, ScriptThreadData, ThreadMessage } from './script-job';

const FLUSH_AFTER_MS = 2;

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('script-thread must run as a worker thread');
  const data = workerData as ScriptThreadData;
  const progress = new Int32Array(data.progress);
  const send = (message: ThreadMessage): void => port.postMessage(message);
  const runner = new ScriptRunner(channelStores(new StoreChannelClient(data.storeChannel, send)));

  port.on('message', (message: RunChunkMessage) => {
    let pending: { index: number; result: ScriptResult }[] = [];
    let flushedAt = Date.now();
    message.jobs.forEach((job, index) => {
      Atomics.add(progress, 0, 1);
      let result: ScriptResult;
      try {
        result = runner.run(job);
      } catch (err) {
        const error = `Internal error: ${err instanceof Error ? err.message : String(err)}`;
        result = { ok: false, error, errorKind: WorkerErrorKind.system };
      }
      pending.push({ index, result });
      const now = Date.now();
      if (now - flushedAt >= FLUSH_AFTER_MS) {
        send({ type: 'results', results: pending });
        pending = [];
        flushedAt = now;
      }
    });
    if (pending.length > 0) send({ type: 'results', results: pending });
  });
  send({ type: 'ready' });
}

main();
