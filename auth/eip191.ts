import { keccak_256 } from '@noble/hashes/sha3';

/**
 * The digest Ethereum's `personal_sign` signs (EIP-191 version 0x45):
 * keccak256("\x19Ethereum Signed Message:\n" + byteLength(message) + message).
 */
export function personalMessageDigest(message: string): Uint8Array {
  const body = Buffer.from(message, 'utf8');
  const prefix = Buffer.from(`\x19Ethereum Signed Message:\n${body.length}`, 'utf8');
  return keccak_256(Buffer.concat([prefix, body]));
}
