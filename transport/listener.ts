import fs from 'node:fs';
import { dispatch, stop, type Ref } from 'nact';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import type { CircleWsMsg, FrameBatch } from '../actors/circle-ws';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { answerAsync, errorAnswer, readBody, writeAnswer, type HttpAnswer } from './http-response';
import { CloseCode, UwsSocketPort, type SocketPort } from './socket-port';
import { isNativeUws, uws, UWS_FALLBACK_WARNING } from './uws';

/** How the server maps a request path to a circle. */
export type CircleLookup = { ok: true; circle: string } | { ok: false; status: 400 | 404; error: string };

export interface WebhookRequest {
  readonly provider: string;
  readonly circlePath: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | null; // null: over the size limit
}

export interface ListenerDeps {
  readonly host: string;
  readonly port: number;
  readonly tls?: { cert: string; key: string };
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxWebhookBodyBytes: number;
  readonly lookupCircle: (pathSegment: string) => CircleLookup;
  /** Spawns the session actor for a new socket. */
  readonly openSession: (port: SocketPort, circle: string) => Ref<CircleWsMsg>;
  readonly health: () => Promise<HttpAnswer>;
  readonly metricsText: () => Promise<string>;
  readonly openrpcText: string;
  /** Webhook deliveries; a route answers 404 when absent. */
  readonly webhook?: (req: WebhookRequest) => Promise<HttpAnswer>;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface Listener {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and upgrades; open sockets stay. */
  stopAccepting(): void;
  /** Closes every open socket with `code`. */
  closeAll(code: number, reason: string): void;
  readonly openSockets: number;
}

interface UserData {
  circle: string;
  port?: UwsSocketPort<UserData>;
  actor?: Ref<CircleWsMsg>;
  batch?: FrameBatch;
}

/** Raised at startup when the listener cannot be created; the message is one clear line. */
export class ListenError extends Error {}

function createApp(tls: ListenerDeps['tls']): TemplatedApp {
  if (!tls) return uws.App();
  for (const [what, file] of [
    ['certificate', tls.cert],
    ['key', tls.key],
  ] as const) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch {
      throw new ListenError(`cannot read TLS ${what} file ${file}`);
    }
  }
  if (!isNativeUws()) throw new ListenError('TLS needs the native uWebSockets.js binary, which did not load');
  return uws.SSLApp({ cert_file_name: tls.cert, key_file_name: tls.key });
}

/**
 * The uWebSockets.js listener: HTTP routes of SPEC §1, the upgrade on `/{circle_pk}` that
 * answers 400/404 before upgrading, and one session actor per socket.
 */
export function startListener(deps: ListenerDeps): Promise<Listener> {
  const log = deps.logger;
  if (!isNativeUws()) log.warn(UWS_FALLBACK_WARNING);
  const app = createApp(deps.tls);
  const sockets = new Set<UwsSocketPort<UserData>>();
  let accepting = true;
  let listenSocket: us_listen_socket | undefined;
  const m = deps.metrics;

  const reject = (res: HttpResponse, status: number, error: string): void => {
    m.upgradesRejected.inc({ status: String(status) });
    writeAnswer(res, errorAnswer(status, error));
  };

  app.get('/health', (res) =>
    answerAsync(res, deps.health, (err) => log.error({ err }, 'health check failed')),
  );
  app.get('/metrics', (res) =>
    answerAsync(
      res,
      async () => ({ status: 200, body: await deps.metricsText(), contentType: 'text/plain; version=0.0.4' }),
      (err) => log.error({ err }, 'metrics failed'),
    ),
  );
  app.get('/openrpc.json', (res) => writeAnswer(res, { status: 200, body: deps.openrpcText }));

  app.post('/webhooks/:provider/:circle', (res, req) => {
    const provider = req.getParameter(0) ?? '';
    const circlePath = req.getParameter(1) ?? '';
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const declared = headers['content-length'] ? Number(headers['content-length']) : null;
    const hook = deps.webhook;
    answerAsync(
      res,
      async () => {
        if (!hook) return errorAnswer(404, 'no webhooks on this server');
        const body = await readBody(
          res,
          deps.maxWebhookBodyBytes,
          Number.isFinite(declared) ? declared : null,
        );
        return hook({ provider, circlePath, headers, body });
      },
      (err) => log.error({ err }, 'webhook failed'),
    );
  });

  app.ws<UserData>('/*', {
    // uWS drops an oversized frame's TCP connection without a close frame (the peer sees
    // 1006). Letting frames up to twice the limit through and refusing them ourselves
    // gives the peer SPEC's 1009; anything larger is still cut before it is buffered.
    maxPayloadLength: deps.maxFrameBytes * 2,
    idleTimeout: deps.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: deps.maxBackpressureBytes,
    closeOnBackpressureLimit: 0,
    upgrade: (res: HttpResponse, req: HttpRequest, context) => {
      const found = deps.lookupCircle(req.getUrl().slice(1));
      if (!found.ok) return reject(res, found.status, found.error);
      if (!accepting) return reject(res, 503, 'server is shutting down');
      res.upgrade<UserData>(
        { circle: found.circle },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws: WebSocket<UserData>) => {
      const ud = ws.getUserData();
      const port = new UwsSocketPort(ws, deps.maxBackpressureBytes, {
        onBackpressure: () => m.socketsClosed.inc({ reason: 'backpressure' }),
      });
      ud.port = port;
      sockets.add(port);
      m.connectionsOpen.inc();
      m.connectionsTotal.inc();
      try {
        ud.actor = deps.openSession(port, ud.circle);
      } catch (err) {
        log.error({ err }, 'could not start a session');
        port.close(CloseCode.InternalError, 'internal error');
      }
    },
    message: (ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean) => {
      const ud = ws.getUserData();
      if (!ud.port || !ud.actor) return;
      if (isBinary) {
        m.socketsClosed.inc({ reason: 'binary_frame' });
        ud.port.close(CloseCode.UnsupportedData, 'binary frames are not supported');
        return;
      }
      if (message.byteLength > deps.maxFrameBytes) {
        m.socketsClosed.inc({ reason: 'frame_too_big' });
        ud.port.close(CloseCode.MessageTooBig, `frame over ${deps.maxFrameBytes} bytes`);
        return;
      }
      const text = Buffer.from(message).toString('utf8');
      const open = ud.batch;
      if (open && !open.taken) open.frames.push(text);
      else {
        ud.batch = { frames: [text], taken: false };
        dispatch(ud.actor, { type: 'frames', batch: ud.batch });
      }
    },
    close: (ws: WebSocket<UserData>) => {
      const ud = ws.getUserData();
      ud.port?.markClosed();
      if (ud.port) sockets.delete(ud.port);
      if (ud.actor) stop(ud.actor);
      m.connectionsOpen.dec();
    },
  });

  // A plain GET of a circle path: tell the client to upgrade (or why the path is wrong).
  app.get('/*', (res, req) => {
    const found = deps.lookupCircle(req.getUrl().slice(1));
    if (!found.ok) return writeAnswer(res, errorAnswer(found.status, found.error));
    writeAnswer(res, {
      ...errorAnswer(426, 'this endpoint speaks JSON-RPC over WebSocket'),
      headers: { upgrade: 'websocket' },
    });
  });
  app.any('/*', (res) => writeAnswer(res, errorAnswer(404, 'not found')));

  return new Promise((resolve, reject) => {
    app.listen(deps.host, deps.port, (token) => {
      if (!token) {
        reject(
          new ListenError(`cannot listen on ${deps.host}:${deps.port} (address in use or not available)`),
        );
        return;
      }
      listenSocket = token;
      const port = uws.us_socket_local_port(token);
      const scheme = deps.tls ? 'wss' : 'ws';
      const host = deps.host.includes(':') ? `[${deps.host}]` : deps.host;
      resolve({
        url: `${scheme}://${host}:${port}`,
        port,
        stopAccepting() {
          accepting = false;
          if (listenSocket) uws.us_listen_socket_close(listenSocket);
          listenSocket = undefined;
        },
        closeAll(code, reason) {
          for (const s of [...sockets]) s.close(code, reason);
        },
        get openSockets() {
          return sockets.size;
        },
      });
    });
  });
}
