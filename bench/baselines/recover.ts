/**
 * Baseline (child process, pinned like the server): the single-core secp256k1 recovery rate
 * of exactly the function the server verifies with (auth/signature.ts verifySignatureFast:
 * libsecp256k1 when its binding loads, else @noble/curves), over fresh nonces as
 * `authenticate` sees them. Prints one JSON line.
 * argv: <milliseconds>
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import { signatureLibrary, verifySignatureFast } from '../../auth/signature';
import { personalSign, publicKeyOf } from '../../auth/personal-sign';

const ms = Number(process.argv[2]) || 2000;
const sk = Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex');
const pk = publicKeyOf(sk);
// Signatures made up front so only verification is timed.
const samples = Array.from({ length: 256 }, (_, i) => {
  const nonce = `nonce_${Math.floor(Date.now() / 1000)}_${i.toString(16).padStart(32, '0')}`;
  return { nonce, sig: personalSign(nonce, sk) };
});
const run = (budgetMs: number): number => {
  const end = performance.now() + budgetMs;
  let n = 0;
  while (performance.now() < end) {
    const s = samples[n % samples.length]!;
    if (!verifySignatureFast(s.nonce, s.sig, pk)) throw new Error('verification failed');
    n++;
  }
  return n;
};
run(Math.min(500, ms / 2)); // warm-up: JIT and precomputed tables
const t0 = performance.now();
const n = run(ms);
process.stdout.write(
  `${JSON.stringify({ perSecond: n / ((performance.now() - t0) / 1000), library: signatureLibrary })}\n`,
);
