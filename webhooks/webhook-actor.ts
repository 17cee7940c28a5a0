import { randomUUID } from 'node:crypto';
import { dispatch, spawn, type Ref } from 'nact';
import type { DispatcherMsg, EnqueuedMsg } from '../actors/script-dispatcher';
import type { Logger } from '../log';
import type { DispatchBackend } from '../queue/dispatch-backend';
import type { KeyBuilder } from '../queue/keys';
import type { AnyWebhookProvider } from './providers';

/** How one delivery ended; the HTTP side turns it into a status code. */
export type WebhookOutcome =
  | { readonly outcome: 'accepted'; readonly taskId: string }
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'no_secret' }
  | { readonly outcome: 'bad_signature'; readonly reason: string }
  | { readonly outcome: 'bad_payload'; readonly reason: string }
  | { readonly outcome: 'unavailable'; readonly reason: string };

/** A delivery for a circle served here, with a body within the size limit. */
export interface WebhookDeliveryMsg {
  readonly type: 'delivery';
  readonly circle: string;
  /** Lower-case names, as the listener reads them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly replyTo: Ref<WebhookOutcome>;
}

/** A verified, well-formed event on its way to the queue. */
interface Job {
  readonly circle: string;
  readonly markerKey: string;
  /** The raw body: the exact event JSON, bound as `event` by the worker. */
  readonly input: string;
  readonly summary: string;
  readonly replyTo: Ref<WebhookOutcome>;
}

/** Everything a webhook actor understands (the last two it sends itself). */
export type WebhookActorMsg =
  | WebhookDeliveryMsg
  | EnqueuedMsg
  | { readonly type: 'marked'; readonly fresh: boolean; readonly job: Job }
  | { readonly type: 'mark-failed'; readonly reason: string; readonly replyTo: Ref<WebhookOutcome> };

/** What a webhook actor needs besides its provider; one actor per provider. */
export interface WebhookActorDeps {
  /** Signing secrets; empty = deliveries answer `no_secret`. */
  readonly secrets: readonly string[];
  /** Replay window for providers that sign a timestamp (Stripe). */
  readonly toleranceSeconds?: number;
  /** Rhai source run for each accepted event. */
  readonly script: string;
  readonly dispatcher: Ref<DispatcherMsg>;
  readonly backend: Pick<DispatchBackend, 'markOnce' | 'unmark'>;
  readonly keys: KeyBuilder;
  /** Unix seconds. */
  readonly now: () => number;
  readonly logger: Logger;
}

/** SPEC §5: a redelivery within this window is acknowledged, not queued again. */
export const REDELIVERY_WINDOW_SECONDS = 7 * 24 * 60 * 60;

/** Bounds the memory of unqueued events (a long Redis outage under a flood of events). */
const MAX_UNQUEUED = 10_000;

interface State {
  /** Jobs handed to the dispatcher, by task id, until it says whether they were queued. */
  readonly pending: Map<string, Job>;
  /**
   * Marker keys set for events whose task was never queued. The provider retries those
   * (it got 503), and the retry must not be taken for a duplicate. Kept even when
   * `unmark` exists, because the failure that stopped the submit usually stops the
   * unmark too.
   */
  readonly unqueued: Set<string>;
}

function rememberUnqueued(state: State, key: string): void {
  state.unqueued.add(key);
  if (state.unqueued.size > MAX_UNQUEUED) {
    const oldest = state.unqueued.values().next().value;
    if (oldest !== undefined) state.unqueued.delete(oldest);
  }
}

/**
 * One provider's webhook actor (`stripe-actor` is the StripeActor, `idenfy-actor` the
 * IdenfyActor; the provider record is all that differs): checks secret, signature and shape in its handler (pure,
 * no I/O), then marks the event (Redis SET NX) and asks the ScriptDispatcher to queue it;
 * both answers come back as messages, so the mailbox never waits on Redis. The marker is
 * set before the submit so two concurrent deliveries cannot both queue the event.
 */
export function spawnWebhookActor(
  parent: Ref<unknown>,
  provider: AnyWebhookProvider,
  deps: WebhookActorDeps,
): Ref<WebhookActorMsg> {
  const { logger } = deps;
  return spawn(
    parent as Ref<never>,
    (state: State, msg: WebhookActorMsg, ctx): State => {
      switch (msg.type) {
        case 'delivery': {
          if (deps.secrets.length === 0) {
            dispatch(msg.replyTo, { outcome: 'no_secret' });
            return state;
          }
          const header = msg.headers[provider.headerName];
          const verified = provider.verify(msg.body, header, deps.secrets, deps.now(), deps.toleranceSeconds);
          if (!verified.ok) {
            dispatch(msg.replyTo, { outcome: 'bad_signature', reason: verified.reason });
            return state;
          }
          const parsed = provider.parse(msg.body);
          if (!parsed.ok) {
            dispatch(msg.replyTo, { outcome: 'bad_payload', reason: parsed.reason });
            return state;
          }
          const job: Job = {
            circle: msg.circle,
            markerKey: deps.keys.webhookMarker(provider.name, msg.circle, parsed.eventKey),
            input: msg.body.toString('utf8'),
            summary: parsed.summary,
            replyTo: msg.replyTo,
          };
          deps.backend.markOnce(job.markerKey, REDELIVERY_WINDOW_SECONDS).then(
            (fresh) => dispatch(ctx.self, { type: 'marked', fresh, job }),
            (err: Error) =>
              dispatch(ctx.self, { type: 'mark-failed', reason: err.message, replyTo: msg.replyTo }),
          );
          return state;
        }
        case 'marked': {
          const { job } = msg;
          // Taken out now, so that two concurrent retries cannot both queue it.
          const retry = state.unqueued.delete(job.markerKey);
          if (!msg.fresh && !retry) {
            logger.debug(
              { provider: provider.name, circle: job.circle, event: job.summary },
              'webhook redelivery ignored',
            );
            dispatch(job.replyTo, { outcome: 'duplicate' });
            return state;
          }
          const taskId = randomUUID();
          state.pending.set(taskId, job);
          dispatch(deps.dispatcher, {
            type: 'enqueue',
            taskId,
            script: deps.script,
            callerId: provider.name,
            contextId: job.circle,
            input: job.input,
            replyTo: ctx.self,
          });
          return state;
        }
        case 'mark-failed':
          logger.warn(
            { provider: provider.name, reason: msg.reason },
            'webhook not taken: backend unavailable',
          );
          dispatch(msg.replyTo, { outcome: 'unavailable', reason: msg.reason });
          return state;
        case 'enqueued': {
          const job = state.pending.get(msg.taskId);
          if (!job) return state;
          state.pending.delete(msg.taskId);
          if (msg.ok) {
            logger.info(
              { provider: provider.name, circle: job.circle, taskId: msg.taskId, event: job.summary },
              'webhook queued',
            );
            dispatch(job.replyTo, { outcome: 'accepted', taskId: msg.taskId });
            return state;
          }
          logger.warn(
            { provider: provider.name, event: job.summary, reason: msg.reason },
            'webhook marked but not queued',
          );
          rememberUnqueued(state, job.markerKey);
          deps.backend
            .unmark(job.markerKey)
            .catch((err: Error) =>
              logger.warn({ err: err.message }, 'could not remove a webhook marker; kept in memory'),
            );
          dispatch(job.replyTo, { outcome: 'unavailable', reason: msg.reason });
          return state;
        }
      }
    },
    `${provider.name}-actor`,
    {
      initialStateFunc: (): State => ({ pending: new Map(), unqueued: new Set() }),
      // A fault costs at most the delivery in hand (its query times out → 503, the provider
      // retries); the pending table and the unqueued markers are worth keeping.
      onCrash: (_msg, err, ctx) => {
        logger.error({ provider: provider.name, err: err?.message }, 'webhook actor fault; resuming');
        return ctx.resume;
      },
    },
  );
}
