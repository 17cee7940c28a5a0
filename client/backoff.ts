/** Reconnect policy: exponential backoff with full jitter. */
export interface ReconnectOptions {
  /** First delay's ceiling; default 250 ms. */
  initialDelayMs?: number;
  /** Ceiling of every delay; default 10 s. */
  maxDelayMs?: number;
  /** Attempts before giving up; default unlimited. */
  maxAttempts?: number;
}

export interface ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  maxAttempts: Infinity,
};

export function reconnectPolicy(given: ReconnectOptions | undefined): ReconnectPolicy {
  const policy = { ...DEFAULT_RECONNECT, ...stripUndefined(given ?? {}) };
  if (!(policy.initialDelayMs >= 0) || !(policy.maxDelayMs >= policy.initialDelayMs)) {
    throw new TypeError('reconnect: need 0 <= initialDelayMs <= maxDelayMs');
  }
  if (!(policy.maxAttempts >= 1)) throw new TypeError('reconnect: maxAttempts must be at least 1');
  return policy;
}

/**
 * The delay before attempt `attempt` (1-based): uniformly random below
 * min(maxDelayMs, initialDelayMs·2^(attempt-1)). Full jitter spreads the clients a restarted
 * server lost, so they do not all come back in the same instant.
 */
export function backoffDelay(
  policy: ReconnectPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
