import { z } from 'zod';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../rpc/json-limits';
import { describeIssues } from '../rpc/zod-issues';
import { escapeKeyPart, makeEventKey } from './event-key';
import type { PayloadCheck } from './result';

/**
 * Deepest JSON nesting a webhook body may have. Real events nest about ten levels; the
 * parsed event is walked recursively (zod here, structured clone on its way to a worker
 * thread, the engine binding it as `event`), which a body nested 100,000 deep overflows.
 */
export const MAX_WEBHOOK_JSON_DEPTH = MAX_JSON_DEPTH;

/** The 400 reason for a body over {@link MAX_WEBHOOK_JSON_DEPTH}. */
export function tooDeepReason(): string {
  return `body nests JSON deeper than ${MAX_WEBHOOK_JSON_DEPTH} levels (the limit)`;
}

/**
 * Identifiers that become redelivery keys: non-empty (an empty key would merge
 * unrelated events) and bounded (they end up in Redis keys and logs).
 */
const KeyString = z.string().min(1).max(255);

/**
 * The part of a Stripe `Event` this service relies on. Loose: every other
 * field (and everything inside `data.object`) is kept, not rejected, so new
 * Stripe API versions do not break delivery.
 */
export const StripeEventSchema = z.looseObject({
  id: KeyString,
  object: z.literal('event'),
  type: z.string(),
  created: z.number().int(),
  data: z.looseObject({ object: z.looseObject({}) }),
});

/** A validated Stripe event (extra fields preserved). */
export type StripeEvent = z.infer<typeof StripeEventSchema>;

/**
 * The part of an iDenfy verification-result webhook this service relies on.
 * Loose for the same reason as {@link StripeEventSchema}.
 */
export const IdenfyResultSchema = z.looseObject({
  clientId: z.string(),
  scanRef: KeyString,
  final: z.boolean(),
  status: z.looseObject({ overall: z.string() }),
});

/** A validated iDenfy result (extra fields preserved). */
export type IdenfyResult = z.infer<typeof IdenfyResultSchema>;

/** The `path` of an issue with the body as a whole (an array, `null`). */
const BODY_ROOT = '(root)';

/**
 * JSON-parses and validates; only the first issue is reported, which is enough
 * for a sender to fix its payload and keeps the reason short. zod's messages
 * state expected types, never the received value, so nothing is echoed back.
 */
function parseWith<S extends z.ZodType>(
  schema: S,
  rawBody: Buffer | string,
): { ok: true; data: z.infer<S> } | { ok: false; reason: string } {
  if (jsonTooDeep(rawBody, MAX_WEBHOOK_JSON_DEPTH)) return { ok: false, reason: tooDeepReason() };
  let json: unknown;
  try {
    json = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, data: result.data };
  const issue = describeIssues(result.error, BODY_ROOT)[0];
  return issue === undefined
    ? { ok: false, reason: 'invalid payload' }
    : { ok: false, reason: `invalid payload at ${issue.path}: ${issue.message}` };
}

/**
 * Validates a (signature-verified) Stripe webhook body.
 *
 * @param rawBody - the raw request body
 * @returns the event, its redelivery key (the event `id`, escaped so it is
 *   Redis-safe; unchanged for real `evt_...` ids) and a one-line summary such
 *   as `stripe checkout.session.completed evt_123`; or a reason naming the
 *   failing field
 */
export function parseStripeEvent(rawBody: Buffer | string): PayloadCheck<StripeEvent> {
  const parsed = parseWith(StripeEventSchema, rawBody);
  if (!parsed.ok) return parsed;
  const event = parsed.data;
  return {
    ok: true,
    event,
    eventKey: makeEventKey(event.id),
    summary: `stripe ${escapeKeyPart(event.type)} ${escapeKeyPart(event.id)}`,
  };
}

/**
 * Validates a (signature-verified) iDenfy verification-result body.
 *
 * The redelivery key is `scanRef:overall:final` because iDenfy sends several
 * webhooks per scan (auto result, then manual review), and each distinct
 * status/finality is a separate event, while an identical resend is not.
 *
 * @param rawBody - the raw request body
 * @returns the result, its redelivery key and a one-line summary such as
 *   `idenfy scanRef=abc overall=APPROVED final=true`; or a reason naming the
 *   failing field
 */
export function parseIdenfyResult(rawBody: Buffer | string): PayloadCheck<IdenfyResult> {
  const parsed = parseWith(IdenfyResultSchema, rawBody);
  if (!parsed.ok) return parsed;
  const event = parsed.data;
  const { scanRef, final } = event;
  const overall = event.status.overall;
  return {
    ok: true,
    event,
    eventKey: makeEventKey(scanRef, overall, final),
    summary: `idenfy scanRef=${escapeKeyPart(scanRef)} overall=${escapeKeyPart(overall)} final=${final}`,
  };
}
