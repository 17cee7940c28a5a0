import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Resume tokens (SPEC §3.8): a signed statement "this identity logged in to this circle,
 * valid until then", so a reconnecting client skips the wallet prompt.
 *
 * Format `v1.<payload>.<mac>`, both base64url without padding:
 *   payload = circle (33 bytes, compressed key) ‖ identity (33 bytes) ‖ expiry (u64 BE, unix s)
 *   mac     = HMAC-SHA256(secret, "v1.<payload>")   (the text as sent: version included)
 * Every token has the same length, so a wrong length is refused before any work. The MAC is
 * compared as text, in constant time: comparing the canonical encoding refuses a token whose
 * last character differs only in base64's unused bits.
 */
const VERSION = 'v1';
const KEY_BYTES = 33;
const PAYLOAD_BYTES = 2 * KEY_BYTES + 8;
const b64Length = (bytes: number): number => Math.ceil((bytes * 4) / 3);
const PAYLOAD_CHARS = b64Length(PAYLOAD_BYTES);
const MAC_CHARS = b64Length(32);

/** Length of every token this version issues. */
export const RESUME_TOKEN_LENGTH = VERSION.length + 1 + PAYLOAD_CHARS + 1 + MAC_CHARS;
const SHAPE = new RegExp(`^${VERSION}\\.[A-Za-z0-9_-]{${PAYLOAD_CHARS}}\\.[A-Za-z0-9_-]{${MAC_CHARS}}$`);

/** Shortest `--session-secret` accepted: HMAC keys shorter than this are guessable offline from one token. */
export const MIN_SESSION_SECRET_LENGTH = 32;

/** Why a token was refused (logged at debug; the client only sees -32002). */
export type ResumeRefusal = 'malformed' | 'forged' | 'expired' | 'other_circle';

export type ResumeCheck =
  | { readonly ok: true; readonly pubkey: string; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: ResumeRefusal };

export interface IssuedToken {
  readonly token: string;
  /** Unix seconds. */
  readonly expiresAt: number;
}

/** Issues and checks resume tokens under one secret; times are unix seconds from the caller. */
export class ResumeTokens {
  private readonly key: Buffer;

  /**
   * `secret`: the operator's `--session-secret` (UTF-8 text), or absent for 32 random bytes,
   * which makes tokens die with this process and work on no other server.
   */
  constructor(
    secret: string | undefined,
    readonly ttlSeconds: number,
  ) {
    this.key = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** A token for `pubkey` in `circle` (both canonical compressed hex), valid `ttlSeconds` from now. */
  issue(circle: string, pubkey: string, nowSeconds: number): IssuedToken {
    const expiresAt = nowSeconds + this.ttlSeconds;
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload.write(circle, 0, KEY_BYTES, 'hex');
    payload.write(pubkey, KEY_BYTES, KEY_BYTES, 'hex');
    payload.writeBigUInt64BE(BigInt(expiresAt), 2 * KEY_BYTES);
    const signed = `${VERSION}.${payload.toString('base64url')}`;
    return { token: `${signed}.${this.mac(signed)}`, expiresAt };
  }

  /** The identity a token vouches for in `circle`, or why it does not. */
  check(token: string, circle: string, nowSeconds: number): ResumeCheck {
    if (token.length !== RESUME_TOKEN_LENGTH || !SHAPE.test(token)) return { ok: false, reason: 'malformed' };
    const signed = token.slice(0, token.length - MAC_CHARS - 1);
    const expected = Buffer.from(this.mac(signed), 'latin1');
    if (!timingSafeEqual(expected, Buffer.from(token.slice(signed.length + 1), 'latin1'))) {
      return { ok: false, reason: 'forged' };
    }
    const payload = Buffer.from(signed.slice(VERSION.length + 1), 'base64url');
    if (payload.toString('hex', 0, KEY_BYTES) !== circle) return { ok: false, reason: 'other_circle' };
    const expiresAt = Number(payload.readBigUInt64BE(2 * KEY_BYTES));
    if (expiresAt <= nowSeconds) return { ok: false, reason: 'expired' };
    return { ok: true, pubkey: payload.toString('hex', KEY_BYTES, 2 * KEY_BYTES), expiresAt };
  }

  private mac(signed: string): string {
    return createHmac('sha256', this.key).update(signed, 'latin1').digest('base64url');
  }
}
