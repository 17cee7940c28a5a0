import { parentPort, workerData } from 'node:worker_threads';
import { verifyPersonalSignature, verifySignatureFast } from './signature';
import type { VerifyJob, VerifyResult } from './verify-protocol';

// Runs signature checks off the socket event loop; one message in, one message out.
const verify =
  (workerData as { implementation?: string } | null)?.implementation === 'reference'
    ? verifyPersonalSignature
    : verifySignatureFast;
parentPort?.on('message', (jobs: VerifyJob[]) => {
  const results: VerifyResult[] = jobs.map((job) => ({
    id: job.id,
    index: job.messages.findIndex((m) => verify(m, job.signature, job.pubkey)),
  }));
  parentPort?.postMessage(results);
});
