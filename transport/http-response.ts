import type { HttpResponse } from 'uWebSockets.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const jsonAnswer = (status: number, value: unknown): HttpAnswer => ({
  status,
  body: JSON.stringify(value),
});
export const errorAnswer = (status: number, error: string): HttpAnswer => jsonAnswer(status, { error });

/** Writes a whole answer; corked so status, headers and body leave in one write. */
export function writeAnswer(res: HttpResponse, a: HttpAnswer): void {
  res.cork(() => {
    res.writeStatus(`${a.status} ${STATUS_TEXT[a.status] ?? ''}`.trim());
    res.writeHeader('content-type', a.contentType ?? 'application/json');
    for (const [k, v] of Object.entries(a.headers ?? {})) res.writeHeader(k, v);
    res.end(a.body);
  });
}

/**
 * Runs an async handler for a uWS response, which must not be touched once the client
 * aborted; any thrown error becomes a generic 500 (details go to the log, not the client).
 */
export function answerAsync(
  res: HttpResponse,
  produce: () => Promise<HttpAnswer>,
  onError: (err: unknown) => void,
): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  produce().then(
    (a) => {
      if (!aborted) writeAnswer(res, a);
    },
    (err: unknown) => {
      onError(err);
      if (!aborted) writeAnswer(res, errorAnswer(500, 'internal error'));
    },
  );
}

/**
 * Reads a request body up to `limit` bytes. Resolves null when it is larger (the caller
 * answers 413) or the client aborted; chunks are copied because uWS reuses them.
 */
export function readBody(
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
