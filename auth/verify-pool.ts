import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../thread';
import type { VerifyJob, VerifyResult } from './verify-protocol';

/** Verifies personal_sign signatures on worker threads. */
export interface SignatureVerifier {
  /** Resolves to the index of the message that `pubkey` signed, or -1. */
  verify(messages: string[], signature: string, pubkey: string): Promise<number>;
  close(): Promise<void>;
}

interface Lane {
  worker: Worker;
  pending: number;
  /** Jobs gathered during the current tick, posted together to save per-message overhead. */
  outbox: VerifyJob[];
}

/**
 * A fixed pool of verification threads. Jobs go to the least-loaded lane; jobs posted in
 * the same tick travel in one message. A thread that dies fails its jobs (as "not verified",
 * which the session reports as Invalid Credentials) and is replaced.
 */
export function createVerifierPool(
  size = Math.max(1, os.availableParallelism()),
  /** `reference` forces @noble/curves (specs that need verification to be slow). */
  implementation: 'fast' | 'reference' = 'fast',
): SignatureVerifier {
  const waiting = new Map<number, { lane: Lane; resolve: (index: number) => void }>();
  let nextId = 1;
  let closing: Promise<void> | undefined;
  const threadPath = path.join(__dirname, 'verify-thread');

  const startLane = (): Lane => {
    const lane: Lane = {
      worker: startThread(threadPath, { workerData: { implementation } }),
      pending: 0,
      outbox: [],
    };
    lane.worker.unref();
    lane.worker.on('message', (results: VerifyResult[]) => {
      for (const r of results) {
        const w = waiting.get(r.id);
        if (!w) continue;
        waiting.delete(r.id);
        lane.pending--;
        w.resolve(r.index);
      }
    });
    lane.worker.on('error', () => undefined);
    lane.worker.on('exit', () => {
      for (const [id, w] of waiting) {
        if (w.lane !== lane) continue;
        waiting.delete(id);
        w.resolve(-1);
      }
      const i = lanes.indexOf(lane);
      if (i >= 0 && !closing) lanes[i] = startLane();
    });
    return lane;
  };
  const lanes: Lane[] = Array.from({ length: size }, startLane);

  return {
    verify(messages, signature, pubkey) {
      if (closing) return Promise.resolve(-1);
      let lane = lanes[0]!;
      for (const l of lanes) if (l.pending < lane.pending) lane = l;
      const id = nextId++;
      return new Promise<number>((resolve) => {
        waiting.set(id, { lane, resolve });
        lane.pending++;
        if (lane.outbox.push({ id, messages, signature, pubkey }) === 1) {
          queueMicrotask(() => {
            const jobs = lane.outbox;
            lane.outbox = [];
            lane.worker.postMessage(jobs);
          });
        }
      });
    },
    close() {
      closing ??= Promise.all(lanes.map((l) => l.worker.terminate())).then(() => undefined);
      return closing;
    },
  };
}
