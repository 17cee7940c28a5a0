import { secp256k1 } from '@noble/curves/secp256k1';
import { personalMessageDigest } from './eip191';
import { nativeSecp256k1 } from './native-secp256k1';

const SIG_HEX = /^(?:0x)?([0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/;

/** A signature decoded from hex: 64-byte compact `r‖s`, or 65-byte `r‖s‖v` with v as recovery bit. */
export type DecodedSignature = { compact: Uint8Array; recovery: number | null };

/** Parses `r‖s` or `r‖s‖v` hex (v ∈ {0, 1, 27, 28}); null for anything else. */
export function decodeSignature(text: string): DecodedSignature | null {
  const m = SIG_HEX.exec(text);
  if (!m) return null;
  const bytes = Buffer.from(m[1]!, 'hex');
  if (bytes.length === 64) return { compact: bytes, recovery: null };
  const v = bytes[64]!;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) return null;
  return { compact: bytes.subarray(0, 64), recovery };
}

/**
 * True when `signatureHex` is a personal_sign signature of `message` by `pubkeyHex`
 * (canonical compressed hex). 65-byte signatures are checked by recovering the key with
 * their `v`, so changing `v` changes the outcome; 64-byte ones are verified directly.
 * This is the reference implementation (@noble/curves); it costs ≈ 1.5 ms of CPU, so the
 * server calls it from a worker-thread pool, never on the socket event loop.
 */
export function verifyPersonalSignature(message: string, signatureHex: string, pubkeyHex: string): boolean {
  const sig = decodeSignature(signatureHex);
  if (!sig) return false;
  const digest = personalMessageDigest(message);
  try {
    const parsed = secp256k1.Signature.fromCompact(sig.compact);
    if (sig.recovery === null) {
      return secp256k1.verify(sig.compact, digest, Buffer.from(pubkeyHex, 'hex'), { lowS: false });
    }
    const recovered = parsed.addRecoveryBit(sig.recovery).recoverPublicKey(digest).toHex(true);
    return recovered === pubkeyHex;
  } catch {
    return false;
  }
}

/**
 * The same check on libsecp256k1 (≈ 30× faster); same answers as the reference on every
 * vector and every flipped byte (specs/auth/signature.mem.spec.ts runs both). High-s compact
 * signatures are normalised first, because libsecp256k1's verify refuses them and the
 * reference accepts them.
 */
export function verifyPersonalSignatureNative(
  message: string,
  signatureHex: string,
  pubkeyHex: string,
): boolean {
  const native = nativeSecp256k1;
  if (!native) return verifyPersonalSignature(message, signatureHex, pubkeyHex);
  const sig = decodeSignature(signatureHex);
  if (!sig) return false;
  const digest = personalMessageDigest(message);
  try {
    const key = Buffer.from(pubkeyHex, 'hex');
    if (sig.recovery === null) {
      return native.ecdsaVerify(native.signatureNormalize(Uint8Array.from(sig.compact)), digest, key);
    }
    return Buffer.from(native.ecdsaRecover(sig.compact, sig.recovery, digest, true)).equals(key);
  } catch {
    return false;
  }
}

/** The fastest correct implementation this machine has (what the server verifies with). */
export const verifySignatureFast = nativeSecp256k1 ? verifyPersonalSignatureNative : verifyPersonalSignature;

/** Which library `verifySignatureFast` uses (logs, benchmark). */
export const signatureLibrary = nativeSecp256k1 ? 'libsecp256k1 (secp256k1 N-API)' : '@noble/curves';
