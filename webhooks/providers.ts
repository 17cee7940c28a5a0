import { parseIdenfyResult, parseStripeEvent, type IdenfyResult, type StripeEvent } from './payloads';
import type { PayloadCheck, SignatureCheck } from './result';
import { verifyIdenfySignature } from './idenfy-signature';
import { verifyStripeSignature } from './stripe-signature';

/** Names of the supported webhook providers. */
export type ProviderName = 'stripe' | 'idenfy';

/**
 * Everything HTTP code needs to handle one provider's webhooks uniformly:
 * read `headerName`, load secrets from `secretEnv`, `verify` the raw body,
 * then `parse` it and dedupe on `eventKey`.
 */
export interface WebhookProvider<N extends ProviderName = ProviderName, E = unknown> {
  readonly name: N;
  /** Environment variable holding the comma-separated signing secrets. */
  readonly secretEnv: 'STRIPE_WEBHOOK_SECRET' | 'IDENFY_WEBHOOK_SECRET';
  /** Lower-case, as Node exposes it in `req.headers`. */
  readonly headerName: 'stripe-signature' | 'idenfy-signature';
  /**
   * Checks the signature. `nowSeconds`/`toleranceSeconds` bound the replay
   * window for providers that sign a timestamp (Stripe); iDenfy ignores them.
   */
  verify(
    rawBody: Buffer | string,
    header: string | undefined,
    secrets: readonly string[],
    nowSeconds: number,
    toleranceSeconds?: number,
  ): SignatureCheck;
  /** Validates the body; only call after `verify` succeeded. */
  parse(rawBody: Buffer | string): PayloadCheck<E>;
}

/** Stripe: `Stripe-Signature` with timestamp and replay window. */
export const STRIPE_PROVIDER: WebhookProvider<'stripe', StripeEvent> = Object.freeze<
  WebhookProvider<'stripe', StripeEvent>
>({
  name: 'stripe',
  secretEnv: 'STRIPE_WEBHOOK_SECRET',
  headerName: 'stripe-signature',
  verify: verifyStripeSignature,
  parse: parseStripeEvent,
});

/** iDenfy: `Idenfy-Signature`, plain HMAC of the body. */
export const IDENFY_PROVIDER: WebhookProvider<'idenfy', IdenfyResult> = Object.freeze<
  WebhookProvider<'idenfy', IdenfyResult>
>({
  name: 'idenfy',
  secretEnv: 'IDENFY_WEBHOOK_SECRET',
  headerName: 'idenfy-signature',
  verify: (rawBody, header, secrets) => verifyIdenfySignature(rawBody, header, secrets),
  parse: parseIdenfyResult,
});

/** Any provider from {@link WEBHOOK_PROVIDERS}. */
export type AnyWebhookProvider = typeof STRIPE_PROVIDER | typeof IDENFY_PROVIDER;

/** All providers, keyed by name (frozen: shared, never mutated). */
export const WEBHOOK_PROVIDERS: Readonly<{ stripe: typeof STRIPE_PROVIDER; idenfy: typeof IDENFY_PROVIDER }> =
  Object.freeze({ stripe: STRIPE_PROVIDER, idenfy: IDENFY_PROVIDER });

/**
 * Looks a provider up by an untrusted name (e.g. a URL path segment).
 *
 * @returns the provider, or undefined for unknown names (including
 *   `__proto__`-style keys, which `Object.hasOwn` excludes)
 */
export function findProvider(name: string): AnyWebhookProvider | undefined {
  return Object.hasOwn(WEBHOOK_PROVIDERS, name) ? WEBHOOK_PROVIDERS[name as ProviderName] : undefined;
}
