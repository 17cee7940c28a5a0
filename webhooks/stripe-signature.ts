import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time';
import type { SignatureCheck } from './result';

/** Stripe's default replay window, in seconds (stripe-node `DEFAULT_TOLERANCE`). */
export const STRIPE_DEFAULT_TOLERANCE_SECONDS = 300;

/** The only signature scheme Stripe uses for live signatures; `v0` etc. are ignored. */
const EXPECTED_SCHEME = 'v1';

interface ParsedHeader {
  /** Unix seconds; NaN when absent or not a plain decimal integer. */
  timestamp: number;
  signatures: string[];
  /** A `v1` item had no value (stripe-node throws on those, so we reject too). */
  emptySignature: boolean;
}

/**
 * Splits `t=<unix>,v1=<hex>,...` exactly the way stripe-node's `parseHeader`
 * does (split on `,`, then on `=`, no trimming, last `t` wins), so that a
 * header Stripe's library accepts or rejects gets the same verdict here.
 * Deliberately stricter in one place: `t` must be all digits, where
 * stripe-node uses `parseInt` (which would turn `t=abc` into NaN and then
 * skip its tolerance check).
 */
function parseHeader(header: string): ParsedHeader {
  const parsed: ParsedHeader = { timestamp: NaN, signatures: [], emptySignature: false };
  for (const item of header.split(',')) {
    const [key, value] = item.split('=');
    if (key === 't') {
      parsed.timestamp =
        value !== undefined && /^\d+$/.test(value) && Number.isSafeInteger(Number(value))
          ? Number(value)
          : NaN;
    } else if (key === EXPECTED_SCHEME) {
      if (value === undefined || value === '') parsed.emptySignature = true;
      else parsed.signatures.push(value);
    }
  }
  return parsed;
}

/** Lower-case hex HMAC-SHA256 over `"<t>.<raw body>"`, hashed from the raw bytes. */
function computeSignature(body: Buffer, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}

function toBuffer(rawBody: Buffer | string): Buffer {
  return typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
}

/**
 * Verifies a `Stripe-Signature` header against the raw request body.
 *
 * Valid when some `v1` value equals hex HMAC-SHA256(secret, `"<t>.<body>"`)
 * for some secret in `secrets` (rotation), compared in constant time, and the
 * timestamp is within `toleranceSeconds` of `nowSeconds` in either direction.
 *
 * Differences from stripe-node's `constructEvent`, all deliberate:
 * - timestamps more than `toleranceSeconds` in the future are rejected
 *   (stripe-node only bounds the age);
 * - tolerance `0` means "same second", not "skip the check" (pass `Infinity`
 *   to really disable it);
 * - the HMAC covers the raw bytes (stripe-node decodes to UTF-8 first, which
 *   only matters for bodies that are not valid UTF-8 or start with a BOM);
 * - an empty `Buffer` body is rejected like an empty string;
 * - `t` must be a plain decimal integer.
 *
 * @param rawBody - the body exactly as received (never re-serialised JSON)
 * @param header - the `Stripe-Signature` header value, if any
 * @param secrets - accepted signing secrets (`whsec_...`), see `parseSecretList`
 * @param nowSeconds - current Unix time in seconds (injected for testability)
 * @param toleranceSeconds - allowed |now - t|, default 300
 * @returns `{ ok: true, timestamp }` or `{ ok: false, reason }` with a short,
 *   secret-free reason
 * @throws RangeError when `toleranceSeconds` is negative or NaN (a config bug)
 */
export function verifyStripeSignature(
  rawBody: Buffer | string,
  header: string | undefined,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds: number = STRIPE_DEFAULT_TOLERANCE_SECONDS,
): SignatureCheck {
  if (!(toleranceSeconds >= 0)) {
    throw new RangeError(`toleranceSeconds must be >= 0, got ${toleranceSeconds}`);
  }
  const body = toBuffer(rawBody);
  if (body.length === 0) return { ok: false, reason: 'empty body' };
  if (header === undefined || header === '') {
    return { ok: false, reason: 'missing stripe-signature header' };
  }
  const { timestamp, signatures, emptySignature } = parseHeader(header);
  if (Number.isNaN(timestamp)) return { ok: false, reason: 'no valid timestamp in signature header' };
  if (emptySignature) return { ok: false, reason: 'empty v1 signature in header' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in header' };

  const usable = secrets.filter((s) => s.trim() !== '');
  if (usable.length === 0) return { ok: false, reason: 'no webhook secret configured' };

  // Compare every (secret, signature) pair without short-circuiting, so the
  // time taken does not reveal which secret or which v1 entry matched.
  let matched = false;
  for (const secret of usable) {
    const expected = Buffer.from(computeSignature(body, secret, timestamp), 'utf8');
    for (const candidate of signatures) {
      // Compared as ASCII text, like stripe-node: upper-case hex does not match.
      if (constantTimeEqual(Buffer.from(candidate, 'utf8'), expected)) matched = true;
    }
  }
  if (!matched) return { ok: false, reason: 'signature mismatch' };

  // Checked after the HMAC (as stripe-node does) so the reason for a forged
  // header is always "mismatch", whatever timestamp the forger picked.
  if (Math.abs(Math.floor(nowSeconds) - timestamp) > toleranceSeconds) {
    return { ok: false, reason: 'timestamp outside tolerance' };
  }
  return { ok: true, timestamp };
}

/**
 * Builds a `Stripe-Signature` header value the way Stripe does
 * (`t=<timestamp>,v1=<hex>`), for tests and benchmarks.
 *
 * @param rawBody - body to sign, exactly as it will be sent
 * @param secret - signing secret
 * @param timestamp - Unix seconds (integer)
 */
export function stripeSignatureHeader(rawBody: Buffer | string, secret: string, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`timestamp must be a non-negative integer, got ${timestamp}`);
  }
  return `t=${timestamp},${EXPECTED_SCHEME}=${computeSignature(toBuffer(rawBody), secret, timestamp)}`;
}
