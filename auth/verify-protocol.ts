/** One authentication check: which (if any) of `messages` did `pubkey` sign? */
export interface VerifyJob {
  id: number;
  messages: string[];
  signature: string;
  pubkey: string;
}

/** `index` of the message that verified, or -1. */
export interface VerifyResult {
  id: number;
  index: number;
}
