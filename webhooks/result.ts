/**
 * Outcome of checking a webhook signature. `reason` is short, fixed text that
 * never contains a secret or an expected signature, so HTTP code may return it
 * to the caller verbatim.
 */
export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Outcome of validating a verified webhook body.
 *
 * @typeParam E - the validated event type
 */
export type PayloadCheck<E> =
  | {
      ok: true;
      /** The validated payload, with unknown extra fields preserved. */
      event: E;
      /** Redelivery (idempotency) key, safe to embed in a Redis key. */
      eventKey: string;
      /** One-line, log-safe description of the event. */
      summary: string;
    }
  | { ok: false; reason: string };
