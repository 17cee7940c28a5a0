import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { nativeSecp256k1 } from './native-secp256k1';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** An Ethereum address as a client gave it, checked (SPEC §3.7). */
export type AddressCheck =
  | { readonly ok: true; /** EIP-55 form. */ readonly address: string }
  | { readonly ok: false; readonly reason: string };

/**
 * EIP-55 mixed-case checksum form of 40 hex characters (any case): a letter is upper case
 * when the matching nibble of keccak256(lowercase hex as ASCII) is 8 or more.
 */
export function checksumAddress(hex40: string): string {
  const lower = hex40.toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = i % 2 === 0 ? hash[i >> 1]! >> 4 : hash[i >> 1]! & 0x0f;
    out += nibble >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  }
  return out;
}

/**
 * `0x` + 40 hex. All-lower and all-upper addresses carry no checksum and are taken as they
 * are; a mixed-case one must be exactly its EIP-55 form (a typo then fails instead of
 * silently naming another account).
 */
export function parseAddress(text: string): AddressCheck {
  if (!ADDRESS.test(text)) return { ok: false, reason: 'expected 0x followed by 40 hex characters' };
  const hex = text.slice(2);
  const address = checksumAddress(hex);
  const mixed = hex !== hex.toLowerCase() && hex !== hex.toUpperCase();
  if (mixed && text !== address)
    return { ok: false, reason: 'mixed-case address with a wrong EIP-55 checksum' };
  return { ok: true, address };
}

/** The address of an uncompressed key (65 bytes, `04` prefix): the last 20 bytes of keccak256(x‖y), EIP-55. */
export function addressOfUncompressed(point: Uint8Array): string {
  const hash = keccak_256(point.subarray(1));
  return checksumAddress(Buffer.from(hash.subarray(12)).toString('hex'));
}

/** The EIP-55 address of a public key given as hex (compressed or uncompressed, no `0x`). */
export function addressOfPubkey(pubkeyHex: string): string {
  const key = Buffer.from(pubkeyHex, 'hex');
  // Decompressing costs ≈ 0.3 ms in JS and runs on the socket loop (once per login).
  const point = nativeSecp256k1
    ? nativeSecp256k1.publicKeyConvert(key, false)
    : secp256k1.ProjectivePoint.fromHex(key).toRawBytes(false);
  return addressOfUncompressed(point);
}
