import { parseAddress } from '../auth/address';
import { normalizePubkey } from '../auth/keys';
import { decodeSignature } from '../auth/signature';
import { RpcErrorCode, rpcError, type RpcError } from './errors';
import type { ParamsOf } from './params';

/**
 * What `fetch_nonce` and `authenticate` params name, checked beyond their JSON shape (a key
 * on the curve, an address with a valid checksum, a decodable signature). Errors are -32602
 * naming the field, so a client can tell its mistake from a refused login (-32002).
 */

/**
 * Who a nonce is issued to: a canonical pubkey (compressed hex, no `0x`) or an address
 * (lowercase, with `0x`). The two forms never collide, so one nonce book holds both.
 */
export type NonceSubject = string;

export type LoginRequest =
  | { readonly kind: 'pubkey'; readonly pubkey: string; readonly signature: string }
  /** `address`: lowercase `0x` form, the nonce subject. */
  | { readonly kind: 'address'; readonly address: string; readonly signature: string }
  | { readonly kind: 'resume'; readonly token: string };

type Checked<T> = { ok: true; value: T } | { ok: false; error: RpcError };

const invalid = (path: string, message: string): { ok: false; error: RpcError } => ({
  ok: false,
  error: rpcError(RpcErrorCode.InvalidParams, { issues: [{ path, message }] }),
});

const BAD_KEY = 'not a valid secp256k1 public key';
const BAD_SIGNATURE = 'expected 64 or 65 bytes of hex (r‖s or r‖s‖v, v ∈ 0,1,27,28)';
const NO_RECOVERY =
  'address login needs the 65-byte signature r‖s‖v: the key is recovered from it, and r‖s alone cannot be';

function addressSubject(text: string): Checked<NonceSubject> {
  const a = parseAddress(text);
  return a.ok ? { ok: true, value: a.address.toLowerCase() } : invalid('address', a.reason);
}

/** The subject a `fetch_nonce` asks a nonce for. */
export function nonceSubjectOf(p: ParamsOf<'fetch_nonce'>): Checked<NonceSubject> {
  if ('address' in p) return addressSubject(p.address);
  const pubkey = normalizePubkey(p.pubkey);
  return pubkey ? { ok: true, value: pubkey } : invalid('pubkey', BAD_KEY);
}

/** One `authenticate` call's login, normalised. */
export function loginRequestOf(p: ParamsOf<'authenticate'>): Checked<LoginRequest> {
  if ('resume_token' in p) return { ok: true, value: { kind: 'resume', token: p.resume_token } };
  if ('address' in p) {
    const subject = addressSubject(p.address);
    if (!subject.ok) return subject;
    const sig = decodeSignature(p.signature);
    if (!sig) return invalid('signature', BAD_SIGNATURE);
    if (sig.recovery === null) return invalid('signature', NO_RECOVERY);
    return { ok: true, value: { kind: 'address', address: subject.value, signature: p.signature } };
  }
  const pubkey = normalizePubkey(p.pubkey);
  if (!pubkey) return invalid('pubkey', BAD_KEY);
  if (!decodeSignature(p.signature)) return invalid('signature', BAD_SIGNATURE);
  return { ok: true, value: { kind: 'pubkey', pubkey, signature: p.signature } };
}
