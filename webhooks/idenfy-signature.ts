import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time';
import type { SignatureCheck } from './result';

/** Hex-encoded SHA-256: exactly 32 bytes, either case. */
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

function hmac(rawBody: Buffer | string, secret: string): Buffer {
  return createHmac('sha256', secret)
    .update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody)
    .digest();
}

/**
 * Verifies an `Idenfy-Signature` header: hex HMAC-SHA256(secret, raw body).
 *
 * The header is decoded to bytes before the constant-time comparison, so hex
 * case does not matter. It is strictly validated first because
 * `Buffer.from(x, 'hex')` silently drops bad or odd trailing characters.
 * iDenfy signs no timestamp, so there is no replay window here; replays are
 * absorbed by the redelivery key instead. The returned `timestamp` is
 * therefore always 0.
 *
 * @param rawBody - the body exactly as received
 * @param header - the `Idenfy-Signature` header value, if any
 * @param secrets - accepted signing keys (rotation: any one may match)
 * @returns `{ ok: true, timestamp: 0 }` or `{ ok: false, reason }` with a
 *   short, secret-free reason
 */
export function verifyIdenfySignature(
  rawBody: Buffer | string,
  header: string | undefined,
  secrets: readonly string[],
): SignatureCheck {
  if (rawBody.length === 0) return { ok: false, reason: 'empty body' };
  const value = header?.trim() ?? '';
  if (value === '') return { ok: false, reason: 'missing idenfy-signature header' };
  if (!HEX_SHA256.test(value)) return { ok: false, reason: 'malformed signature header' };

  const usable = secrets.filter((s) => s.trim() !== '');
  if (usable.length === 0) return { ok: false, reason: 'no webhook secret configured' };

  const given = Buffer.from(value, 'hex');
  // No short-circuit: timing must not reveal which secret matched.
  let matched = false;
  for (const secret of usable) {
    if (constantTimeEqual(given, hmac(rawBody, secret))) matched = true;
  }
  return matched ? { ok: true, timestamp: 0 } : { ok: false, reason: 'signature mismatch' };
}

/**
 * Builds an `Idenfy-Signature` header value (lower-case hex), for tests and
 * benchmarks.
 *
 * @param rawBody - body to sign, exactly as it will be sent
 * @param secret - signing key
 */
export function idenfySignatureHeader(rawBody: Buffer | string, secret: string): string {
  return hmac(rawBody, secret).toString('hex');
}
