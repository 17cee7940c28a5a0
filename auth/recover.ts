import { secp256k1 } from '@noble/curves/secp256k1';
import { addressOfUncompressed } from './address';
import { personalMessageDigest } from './eip191';
import { nativeSecp256k1 } from './native-secp256k1';
import { decodeSignature } from './signature';

/** Who signed a message: the key (canonical compressed hex) and its EIP-55 address. */
export interface Signer {
  readonly pubkey: string;
  readonly address: string;
}

/**
 * The signer of a personal_sign signature, recovered from its 65 bytes `r‖s‖v`; null when
 * the signature is not 65 bytes (a 64-byte one carries no recovery bit) or recovers nothing.
 * This is the reference (@noble/curves, ≈ 1.5 ms); the server runs recovery on its
 * verification threads, never on the socket event loop.
 */
export function recoverPersonalSigner(message: string, signatureHex: string): Signer | null {
  const sig = decodeSignature(signatureHex);
  if (!sig || sig.recovery === null) return null;
  try {
    const point = secp256k1.Signature.fromCompact(sig.compact)
      .addRecoveryBit(sig.recovery)
      .recoverPublicKey(personalMessageDigest(message));
    return { pubkey: point.toHex(true), address: addressOfUncompressed(point.toRawBytes(false)) };
  } catch {
    return null;
  }
}

/** The same on libsecp256k1 (≈ 30× faster); same answers as the reference (specs/auth/address.mem.spec.ts). */
export function recoverPersonalSignerNative(message: string, signatureHex: string): Signer | null {
  const native = nativeSecp256k1;
  if (!native) return recoverPersonalSigner(message, signatureHex);
  const sig = decodeSignature(signatureHex);
  if (!sig || sig.recovery === null) return null;
  try {
    const point = native.ecdsaRecover(sig.compact, sig.recovery, personalMessageDigest(message), false);
    return {
      pubkey: Buffer.from(native.publicKeyConvert(point, true)).toString('hex'),
      address: addressOfUncompressed(point),
    };
  } catch {
    return null;
  }
}

/** The fastest correct implementation this machine has. */
export const recoverSignerFast = nativeSecp256k1 ? recoverPersonalSignerNative : recoverPersonalSigner;

/**
 * Which of `messages` was signed by the holder of `address` (compared case-insensitively),
 * and the key recovered; `index` -1 when none.
 */
export function findAddressSigner(
  messages: readonly string[],
  signatureHex: string,
  address: string,
  recover: (message: string, signatureHex: string) => Signer | null = recoverSignerFast,
): { index: number; pubkey?: string; address?: string } {
  const wanted = address.toLowerCase();
  for (let i = 0; i < messages.length; i++) {
    const signer = recover(messages[i]!, signatureHex);
    if (signer && signer.address.toLowerCase() === wanted)
      return { index: i, pubkey: signer.pubkey, address: signer.address };
  }
  return { index: -1 };
}
