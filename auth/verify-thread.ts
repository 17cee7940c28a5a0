import { parentPort, workerData } from 'node:worker_threads';
import { addressOfPubkey } from './address';
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
  const index = job.messages.findIndex((m) => verify(m, job.signature, job.pubkey));
  // The address goes back with the verdict: a point decompression and two keccaks (≈ 25 µs)
  // the socket loop would otherwise spend on every login.
  return index < 0
    ? { id: job.id, index }
    : { id: job.id, index, pubkey: job.pubkey, address: addressOfPubkey(job.pubkey) };
}

parentPort?.on('message', (jobs: VerifyJob[]) => {
  parentPort?.postMessage(jobs.map(check));
});
