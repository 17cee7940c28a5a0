import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../threads/start-thread';
import type { VerifyJob, VerifyRequest, VerifyResult } from './verify-protocol';

/** What a check found: the message the signer signed (-1: none), their key and address. */
export interface SignerMatch {
  readonly index: number;
  /** Canonical compressed hex of the signer's key, when `index` >= 0. */
  readonly pubkey?: string;
  /** The signer's EIP-55 address, when `index` >= 0 (derived on the thread, off the socket loop). */
  readonly address?: string;
}

/** Verifies personal_sign signatures on worker threads. */
export interface SignatureVerifier {
  /** Which message `pubkey` signed (`index` -1: none). */
  verify(messages: string[], signature: string, pubkey: string): Promise<SignerMatch>;
  /**
   * Address login (SPEC §3.7): recovers the key from the 65-byte signature over each message
   * and resolves to the first whose address equals `address` (any case).
   */
  recoverAddress(messages: string[], signature: string, address: string): Promise<SignerMatch>;
  /** Checks asked for and not yet answered (admission control reads it). */
  readonly pending: number;
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
  const waiting = new Map<number, { lane: Lane; resolve: (result: VerifyResult) => void }>();
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
        w.resolve(r);
      }
    });
    lane.worker.on('error', () => undefined);
    lane.worker.on('exit', () => {
      for (const [id, w] of waiting) {
        if (w.lane !== lane) continue;
        waiting.delete(id);
        w.resolve({ id, index: -1 });
      }
      const i = lanes.indexOf(lane);
      if (i >= 0 && !closing) lanes[i] = startLane();
    });
    return lane;
  };
  const lanes: Lane[] = Array.from({ length: size }, startLane);

  const submit = (job: VerifyRequest): Promise<VerifyResult> => {
    const id = nextId++;
    if (closing) return Promise.resolve({ id, index: -1 });
    let lane = lanes[0]!;
    for (const l of lanes) if (l.pending < lane.pending) lane = l;
    return new Promise<VerifyResult>((resolve) => {
      waiting.set(id, { lane, resolve });
      lane.pending++;
      if (lane.outbox.push({ ...job, id }) === 1) {
        queueMicrotask(() => {
          const jobs = lane.outbox;
          lane.outbox = [];
          lane.worker.postMessage(jobs);
        });
      }
    });
  };

  return {
    verify: (messages, signature, pubkey) =>
      submit({ mode: 'pubkey', messages, signature, pubkey }).then(matchOf),
    recoverAddress: (messages, signature, address) =>
      submit({ mode: 'address', messages, signature, address }).then(matchOf),
    get pending() {
      return waiting.size;
    },
    close() {
      closing ??= Promise.all(lanes.map((l) => l.worker.terminate())).then(() => undefined);
      return closing;
    },
  };
}

function matchOf(r: VerifyResult): SignerMatch {
  return r.index >= 0 && r.pubkey !== undefined && r.address !== undefined
    ? { index: r.index, pubkey: r.pubkey, address: r.address }
    : { index: -1 };
}
