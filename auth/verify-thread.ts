import { parentPort, workerData } from 'node:worker_threads';
import { findAddressSigner, recoverPersonalSigner, recoverSignerFast } from './recover';
import { verifyPersonalSignature, verifySignatureFast } from './signature';
import type { VerifyJob, VerifyResult } from './verify-protocol';
import { lowerThisThreadPriority } from '../threads/priority';

// Established sessions come first: the socket loop preempts signature checks for newcomers.
lowerThisThreadPriority(10);

// Runs signature checks off the socket event loop; one message in, one message out.
const reference = (workerData as { implementation?: string } | null)?.implementation === 'reference';
const verify = reference ? verifyPersonalSignature : verifySignatureFast;
const recover = reference ? recoverPersonalSigner : recoverSignerFast;

function check(job: VerifyJob): VerifyResult {
  if (job.mode === 'address') {
    return { id: job.id, ...findAddressSigner(job.messages, job.signature, job.address, recover) };
  }
  return { id: job.id, index: job.messages.findIndex((m) => verify(m, job.signature, job.pubkey)) };
}

parentPort?.on('message', (jobs: VerifyJob[]) => {
  parentPort?.postMessage(jobs.map(check));
});
