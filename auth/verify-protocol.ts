/**
 * One authentication check, off the socket loop. `pubkey`: which (if any) of `messages` did
 * this key sign? `address` (SPEC §3.7): which did the holder of this address sign, and with
 * which key (recovered from the 65-byte signature)?
 */
export type VerifyRequest =
  | { mode: 'pubkey'; messages: string[]; signature: string; pubkey: string }
  | { mode: 'address'; messages: string[]; signature: string; address: string };

/** A request as posted to a thread, numbered by the pool. */
export type VerifyJob = VerifyRequest & { id: number };

/** `index` of the message that verified, or -1; then the signer's key and EIP-55 address. */
export interface VerifyResult {
  id: number;
  index: number;
  pubkey?: string;
  address?: string;
}
