import { query, type Ref } from 'nact';
import type { WebhookActorMsg, WebhookOutcome } from './webhook-actor';
import type { Logger } from '../log';
import type { Metrics } from '../server/metrics';
import { errorAnswer, jsonAnswer, type HttpAnswer } from '../transport/http-response';
import type { CircleLookup, WebhookRequest } from '../transport/listener';
import { jsonTooDeep } from '../rpc/json-limits';
import { MAX_WEBHOOK_JSON_DEPTH, tooDeepReason } from './payloads';
import { findProvider, type AnyWebhookProvider, type ProviderName } from './providers';

/** What the webhook route needs. */
export interface WebhookHandlerDeps {
  /** The StripeActor and IdenfyActor. */
  readonly actors: Readonly<Record<ProviderName, Ref<WebhookActorMsg>>>;
  readonly lookupCircle: (pathSegment: string) => CircleLookup;
  /** How long a delivery may wait for its actor before answering 503. */
  readonly timeoutMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** The `outcome` label of `circles_webhooks_total`. */
type OutcomeLabel =
  WebhookOutcome['outcome'] | 'unknown_provider' | 'unknown_circle' | 'bad_circle' | 'too_large' | 'timeout';

function answerFor(provider: AnyWebhookProvider, o: WebhookOutcome): HttpAnswer {
  switch (o.outcome) {
    case 'accepted':
      return jsonAnswer(200, { received: true, task_id: o.taskId });
    case 'duplicate':
      return jsonAnswer(200, { received: true, duplicate: true });
    case 'no_secret':
      return errorAnswer(
        503,
        `${provider.name} webhooks are not configured on this server (set ${provider.secretEnv} or --${provider.name}-secret)`,
      );
    case 'bad_signature':
      return errorAnswer(400, `invalid signature: ${o.reason}`);
    case 'bad_payload':
      return errorAnswer(400, o.reason);
    case 'unavailable':
      // The backend's own message stays in the log: it may name hosts and ports.
      return errorAnswer(503, 'task backend unavailable; retry later');
  }
}

/**
 * The `POST /webhooks/:provider/:circle` handler (SPEC §5). It checks what needs no
 * secret in the order SPEC gives — circle (404; 400 for a path that is not a key at
 * all), body size (413) — then the body's JSON nesting (400 over
 * {@link MAX_WEBHOOK_JSON_DEPTH} levels, before any secret is looked at), then hands the
 * delivery to the provider's actor and answers with what the actor replies. Every delivery
 * is counted by provider and outcome.
 */
export function createWebhookHandler(deps: WebhookHandlerDeps): (req: WebhookRequest) => Promise<HttpAnswer> {
  const count = (provider: string, outcome: OutcomeLabel): void =>
    deps.metrics.webhooks.inc({ provider, outcome });

  const deliver = async (
    provider: AnyWebhookProvider,
    req: WebhookRequest,
  ): Promise<[OutcomeLabel, HttpAnswer]> => {
    const found = deps.lookupCircle(req.circlePath);
    if (!found.ok)
      return [found.status === 404 ? 'unknown_circle' : 'bad_circle', errorAnswer(found.status, found.error)];
    const body = req.body;
    if (body === null) return ['too_large', errorAnswer(413, 'webhook body over the size limit')];
    // Checked here, on the raw bytes, so a body of `[[[[…` never reaches an actor, the queue
    // or a worker thread (whose recursive walks — zod, postMessage — overflow the stack).
    if (jsonTooDeep(body, MAX_WEBHOOK_JSON_DEPTH)) return ['bad_payload', errorAnswer(400, tooDeepReason())];
    let outcome: WebhookOutcome;
    try {
      outcome = await query(
        deps.actors[provider.name],
        (replyTo: Ref<WebhookOutcome>): WebhookActorMsg => ({
          type: 'delivery',
          circle: found.circle,
          headers: req.headers,
          body,
          replyTo,
        }),
        deps.timeoutMs,
      );
    } catch (err) {
      // Timed out, or the actor is gone (shutdown): the provider retries on 503.
      deps.logger.warn(
        { provider: provider.name, err: (err as Error).message },
        'webhook not handled in time',
      );
      return ['timeout', errorAnswer(503, 'webhook not handled in time; retry later')];
    }
    return [outcome.outcome, answerFor(provider, outcome)];
  };

  return async (req) => {
    const provider = findProvider(req.provider);
    if (!provider) {
      // Not the path segment as a label: metrics must not grow with what clients send.
      count('unknown', 'unknown_provider');
      return errorAnswer(404, 'unknown webhook provider');
    }
    const [outcome, answer] = await deliver(provider, req);
    count(provider.name, outcome);
    return answer;
  };
}
