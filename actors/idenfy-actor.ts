import type { Ref } from 'nact';
import { IDENFY_PROVIDER } from '../webhooks/providers';
import { spawnWebhookActor, type WebhookActorDeps, type WebhookActorMsg } from './webhook-actor';

export type { WebhookActorMsg as IdenfyActorMsg } from './webhook-actor';

/** Spawns the IdenfyActor (`Idenfy-Signature`, no timestamp) under `parent`. */
export function spawnIdenfyActor(
  parent: Ref<unknown>,
  deps: Omit<WebhookActorDeps, 'provider' | 'toleranceSeconds'>,
): Ref<WebhookActorMsg> {
  return spawnWebhookActor(parent, 'idenfy-actor', { ...deps, provider: IDENFY_PROVIDER });
}
