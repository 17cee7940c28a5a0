import { secp256k1 } from '@noble/curves/secp256k1';

/**
 * The canonical form of a circle public key (SPEC §1): lowercase compressed hex, 66
 * characters, no `0x`. Accepts compressed or uncompressed hex, with or without `0x`, any
 * case. Returns `null` when the text is not a point on secp256k1.
 */
export function canonicalCirclePk(text: string): string | null {
  const hex = text.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]+$/.test(hex) || (hex.length !== 66 && hex.length !== 130)) return null;
  try {
    return secp256k1.ProjectivePoint.fromHex(hex.toLowerCase()).toHex(true);
  } catch {
    return null;
  }
}
