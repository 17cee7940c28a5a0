import { randomFillSync } from 'node:crypto';

/**
 * 16 CSPRNG bytes as hex. Drawn from a pre-filled pool, as node's randomUUID does: one
 * `randomBytes(16)` per nonce cost ≈ 7 µs on the socket loop, once per login.
 */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function random16Hex(): string {
  if (poolAt + 16 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool.toString('hex', poolAt, (poolAt += 16));
}

export interface IssuedNonce {
  readonly nonce: string;
  readonly pubkey: string;
  readonly expiresAt: number;
}

/**
 * The outstanding nonces of one session (SPEC §3), kept in the session actor's state.
 * Bounded: issuing past `max` drops the oldest. Times are unix seconds from an injected clock.
 */
export class NonceBook {
  private readonly issued: IssuedNonce[] = [];

  constructor(
    private readonly max: number,
    private readonly ttlSeconds: number,
  ) {}

  issue(pubkey: string, nowSeconds: number): IssuedNonce {
    const entry: IssuedNonce = {
      nonce: `nonce_${nowSeconds}_${random16Hex()}`,
      pubkey,
      expiresAt: nowSeconds + this.ttlSeconds,
    };
    this.issued.push(entry);
    if (this.issued.length > this.max) this.issued.splice(0, this.issued.length - this.max);
    return entry;
  }

  /**
   * Removes every nonce issued for `pubkey` and returns the unexpired ones: they are
   * reserved for one verification, so a concurrent `authenticate` cannot reuse them.
   */
  take(pubkey: string, nowSeconds: number): IssuedNonce[] {
    const taken: IssuedNonce[] = [];
    for (let i = this.issued.length - 1; i >= 0; i--) {
      const n = this.issued[i]!;
      if (n.pubkey !== pubkey) continue;
      this.issued.splice(i, 1);
      if (n.expiresAt > nowSeconds) taken.unshift(n);
    }
    return taken;
  }

  /** Puts back reserved nonces that a successful verification did not use. */
  restore(nonces: readonly IssuedNonce[]): void {
    for (const n of nonces) this.issued.push(n);
    if (this.issued.length > this.max) this.issued.splice(0, this.issued.length - this.max);
  }

  get size(): number {
    return this.issued.length;
  }
}
