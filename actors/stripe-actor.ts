import type { Ref } from 'nact';
import { STRIPE_PROVIDER } from '../webhooks/providers';
import { spawnWebhookActor, type WebhookActorDeps, type WebhookActorMsg } from './webhook-actor';

export type { WebhookActorMsg as StripeActorMsg } from './webhook-actor';

/** Spawns the StripeActor (`Stripe-Signature`, timestamp tolerance) under `parent`. */
export function spawnStripeActor(
  parent: Ref<unknown>,
  deps: Omit<WebhookActorDeps, 'provider'>,
): Ref<WebhookActorMsg> {
  return spawnWebhookActor(parent, 'stripe-actor', { ...deps, provider: STRIPE_PROVIDER });
}
