import { secp256k1 } from '@noble/curves/secp256k1';
import { nativeSecp256k1 } from './native-secp256k1';

const HEX_KEY = /^(?:0x)?([0-9a-fA-F]{66}|[0-9a-fA-F]{130})$/;

/**
 * Recent valid keys by the text they arrived as. A login names the same key three times
 * (the circle in the path, then fetch_nonce and authenticate), and each check is a point
 * decompression (≈ 9 µs native) on the socket loop. Bounded: the oldest entry goes first.
 */
const recent = new Map<string, string>();
const RECENT_MAX = 4096;

/**
 * Normalises a secp256k1 public key (compressed or uncompressed hex, optional `0x`, any
 * case) to the canonical lowercase compressed hex without `0x`, or returns null when the
 * text is not a point on the curve.
 */
export function normalizePubkey(text: string): string | null {
  const known = recent.get(text);
  if (known !== undefined) return known;
  const canonical = parsePubkey(text);
  if (canonical === null) return null;
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value!);
  recent.set(text, canonical);
  return canonical;
}

function parsePubkey(text: string): string | null {
  const m = HEX_KEY.exec(text);
  if (!m) return null;
  const hex = m[1]!.toLowerCase();
  const prefix = hex.slice(0, 2);
  if (hex.length === 66 ? prefix !== '02' && prefix !== '03' : prefix !== '04') return null;
  try {
    // Decompressing a point costs ≈ 0.3 ms in JS and this runs on the socket loop.
    if (nativeSecp256k1)
      return Buffer.from(nativeSecp256k1.publicKeyConvert(Buffer.from(hex, 'hex'), true)).toString('hex');
    return secp256k1.ProjectivePoint.fromHex(hex).toHex(true);
  } catch {
    return null;
  }
}

/** A fresh random key pair (development circles, tests). */
export function generateKeyPair(): { privateKey: string; publicKey: string } {
  const priv = secp256k1.utils.randomPrivateKey();
  return {
    privateKey: Buffer.from(priv).toString('hex'),
    publicKey: Buffer.from(secp256k1.getPublicKey(priv, true)).toString('hex'),
  };
}
