import { errorAnswer, jsonAnswer, type HttpAnswer } from './http-response';
import type { PlaygroundRoute } from './playground-route';

/** How the server maps a request path to a circle. */
export type CircleLookup = { ok: true; circle: string } | { ok: false; status: 400 | 404; error: string };

export interface WebhookRequest {
  readonly provider: string;
  readonly circlePath: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | null; // null: over the size limit
}

/** What the HTTP routes of SPEC §1 answer with; the same for every transport. */
export interface RouteDeps {
  readonly lookupCircle: (pathSegment: string) => CircleLookup;
  /** `/health` (kept for compatibility: the backend answers). */
  readonly health: () => Promise<HttpAnswer>;
  /** `/readyz`: the backend answers and every served circle has a live worker. */
  readonly readiness: () => Promise<HttpAnswer>;
  readonly metricsText: () => Promise<string>;
  readonly openrpcText: string;
  /** `/circles`: the circles served (canonical keys); empty in development mode. */
  readonly circles: readonly string[];
  /** Webhook deliveries; the route answers 404 when absent. */
  readonly webhook?: (req: WebhookRequest) => Promise<HttpAnswer>;
  /** The playground page (`/`, `/playground/*`) when enabled (SPEC §7). */
  readonly playground?: PlaygroundRoute;
}

/** A request as the transports hand it over (method upper-case, path without query). */
export interface HttpRequestView {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body, or null when over the webhook size limit (the transport reads it). */
  readonly body: () => Promise<Buffer | null>;
}

const WEBHOOK_PATH = /^\/webhooks\/([^/]*)\/([^/]*)$/;
const LIVE: HttpAnswer = jsonAnswer(200, { status: 'ok' });

/** Whether a request's body should be read before routing (only webhook deliveries have one). */
export const wantsBody = (method: string, path: string): boolean =>
  method === 'POST' && WEBHOOK_PATH.test(path);

/**
 * The HTTP routes (SPEC §1): probes, metrics, the OpenRPC document, webhooks, and a
 * plain GET of a circle path (426: upgrade). HEAD is answered like GET; the transport
 * leaves the body out.
 */
export function routeHttp(deps: RouteDeps, req: HttpRequestView): Promise<HttpAnswer> | HttpAnswer {
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read) {
    switch (req.path) {
      case '/livez':
        return LIVE;
      case '/readyz':
        return deps.readiness();
      case '/health':
        return deps.health();
      case '/metrics':
        return deps
          .metricsText()
          .then((body) => ({ status: 200, body, contentType: 'text/plain; version=0.0.4' }));
      case '/openrpc.json':
        return { status: 200, body: deps.openrpcText };
      case '/circles':
        return jsonAnswer(200, { circles: deps.circles });
    }
    const page = deps.playground?.(req.path, req.headers);
    if (page) return page;
    const found = deps.lookupCircle(req.path.slice(1));
    if (!found.ok) return errorAnswer(found.status, found.error);
    return {
      ...errorAnswer(426, 'this endpoint speaks JSON-RPC over WebSocket'),
      headers: { upgrade: 'websocket' },
    };
  }
  const hook = req.method === 'POST' ? WEBHOOK_PATH.exec(req.path) : null;
  if (!hook) return errorAnswer(404, 'not found');
  const webhook = deps.webhook;
  if (!webhook) return errorAnswer(404, 'no webhooks on this server');
  const [, provider = '', circlePath = ''] = hook;
  return req.body().then((body) => webhook({ provider, circlePath, headers: req.headers, body }));
}
