import { parentPort } from 'node:worker_threads';
import { verifySignatureFast } from './signature';
import type { VerifyJob, VerifyResult } from './verify-protocol';

// Runs signature checks off the socket event loop; one message in, one message out.
parentPort?.on('message', (jobs: VerifyJob[]) => {
  const results: VerifyResult[] = jobs.map((job) => ({
    id: job.id,
    index: job.messages.findIndex((m) => verifySignatureFast(m, job.signature, job.pubkey)),
  }));
  parentPort?.postMessage(results);
});
