import type { HttpResponse } from 'uWebSockets.js';
import { answerHeaders, errorAnswer, STATUS_TEXT, type HttpAnswer } from './http-response';

/** Writes a whole answer; corked so status, headers and body leave in one write. */
export function writeUwsAnswer(res: HttpResponse, a: HttpAnswer, head = false): void {
  res.cork(() => {
    res.writeStatus(`${a.status} ${STATUS_TEXT[a.status] ?? ''}`.trim());
    for (const [k, v] of Object.entries(answerHeaders(a))) res.writeHeader(k, v);
    if (head) res.endWithoutBody(Buffer.byteLength(a.body));
    else res.end(a.body);
  });
}

/**
 * Answers a uWS response with what `produce` gives; the response must not be touched once
 * the client aborted. A thrown error becomes a generic 500 (details go to the log only).
 */
export function answerUwsAsync(
  res: HttpResponse,
  produce: () => Promise<HttpAnswer> | HttpAnswer,
  onError: (err: unknown) => void,
  head = false,
): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  Promise.resolve()
    .then(produce)
    .then(
      (a) => {
        if (!aborted) writeUwsAnswer(res, a, head);
      },
      (err: unknown) => {
        onError(err);
        if (!aborted) writeUwsAnswer(res, errorAnswer(500, 'internal error'), head);
      },
    );
}

/**
 * Reads a request body up to `limit` bytes; must be called in the request handler's own
 * turn (uWS rule). Resolves null when larger (the caller answers 413) or aborted; chunks
 * are copied because uWS reuses them.
 */
export function readUwsBody(
  res: HttpResponse,
  limit: number,
  declaredLength: number | null,
): Promise<Buffer | null> {
  return new Promise((resolve) => {
    if (declaredLength !== null && declaredLength > limit) {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        resolve(null);
        return;
      }
      chunks.push(Buffer.from(Buffer.from(chunk)));
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
  });
}
