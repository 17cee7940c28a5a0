import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time byte comparison that tolerates unequal lengths.
 *
 * `crypto.timingSafeEqual` throws on length mismatch; the length of a
 * signature is public anyway (hex SHA-256 is always 64 chars), so returning
 * early on it leaks nothing about the secret.
 *
 * @returns true when both buffers hold the same bytes
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
