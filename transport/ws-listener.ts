import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { stop } from 'nact';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { answerHeaders, errorAnswer, STATUS_TEXT, type HttpAnswer } from './http-response';
import { deliverFrame, type SessionInbox } from './frame-intake';
import {
  ListenError,
  listenFailure,
  readTlsFiles,
  urlOf,
  type Listener,
  type ListenerDeps,
} from './listener';
import { BUSY, RETRY_AFTER } from './newcomer-lane';
import { routeHttp, wantsBody } from './routes';
import { WsSocketPort } from './ws-socket-port';

/** How long a closing socket may take to answer our close frame before it is dropped. */
const CLOSE_GRACE_MS = 2_000;

interface Session extends SessionInbox {
  readonly port: WsSocketPort;
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q < 0 ? (url ?? '/') : (url ?? '/').slice(0, q);
}

function headersOf(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Reads a body up to `limit` bytes; null when larger (the answer closes the connection). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}

function writeAnswer(res: http.ServerResponse, a: HttpAnswer, closeAfter: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    ...answerHeaders(a),
    'content-length': Buffer.byteLength(a.body),
  };
  if (closeAfter) headers.connection = 'close';
  res.writeHead(a.status, STATUS_TEXT[a.status], headers);
  res.end(a.body); // node leaves the body out of a HEAD answer
}

/** Answers an upgrade we refuse, on the raw socket, before any handshake. */
function refuseUpgrade(socket: Duplex, a: HttpAnswer): void {
  const headers = Object.entries({ ...answerHeaders(a), 'content-length': String(Buffer.byteLength(a.body)) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${a.status} ${STATUS_TEXT[a.status] ?? ''}\r\nconnection: close\r\n${headers}\r\n${a.body}`,
  );
}

function createServer(deps: ListenerDeps): http.Server {
  if (!deps.tls) return http.createServer();
  const files = readTlsFiles(deps.tls);
  try {
    return https.createServer({ cert: files.cert, key: files.key });
  } catch (err) {
    throw new ListenError(`cannot use the TLS certificate and key: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * The `ws` transport on `node:http` / `node:https`, for a Node or C library without a native
 * uWebSockets.js binary. Same routes, limits and close codes: `ws` itself closes an
 * oversized frame with 1009 without buffering it and invalid UTF-8 with 1007.
 */
export function startWsListener(deps: ListenerDeps): Promise<Listener> {
  const log = deps.logger;
  const m = deps.metrics;
  const lane = deps.newcomers;
  const server = createServer(deps);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const sessions = new Set<Session>();
  let accepting = true;

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = pathOf(req.url);
    const headers = headersOf(req);
    const hasBody = wantsBody(method, path);
    if (!hasBody) req.resume(); // a body nobody reads must not hold the connection
    let tooLarge = false; // then the answer closes the connection: the rest is never read
    const body = hasBody
      ? readBody(req, deps.maxWebhookBodyBytes).then((b) => {
          tooLarge = b === null;
          return b;
        })
      : Promise.resolve(null);
    Promise.resolve()
      .then(() => routeHttp(deps, { method, path, headers, body: () => body }))
      .then(
        (a) => writeAnswer(res, a, tooLarge),
        (err: unknown) => {
          log.error({ err, path }, 'http route failed');
          writeAnswer(res, errorAnswer(500, 'internal error'), tooLarge);
        },
      );
  });

  const refuse = (socket: Duplex, status: number, error: string, headers?: Record<string, string>): void => {
    m.upgradesRejected.inc({ status: String(status) });
    refuseUpgrade(socket, { ...errorAnswer(status, error), headers });
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const found = deps.lookupCircle(pathOf(req.url).slice(1));
    if (!found.ok) return refuse(socket, found.status, found.error);
    if (!accepting) return refuse(socket, 503, 'server is shutting down');
    socket.on('error', () => undefined); // a peer gone while its upgrade waits is not an error of ours
    const upgrade = (): void => wss.handleUpgrade(req, socket, head, (ws) => open(ws, socket, found.circle));
    lane.upgrade(
      (deferred) => {
        if (!deferred) return upgrade();
        if (socket.destroyed) return;
        if (!accepting) return refuse(socket, 503, 'server is shutting down');
        upgrade();
      },
      () => {
        if (!socket.destroyed) refuse(socket, 503, BUSY, RETRY_AFTER);
      },
    );
  });

  const open = (ws: WebSocket, raw: Duplex, circle: string): void => {
    const port = new WsSocketPort(ws, raw, deps.maxBackpressureBytes, {
      onClosedFor: (reason) => m.socketsClosed.inc({ reason }),
    });
    const session: Session = { port };
    sessions.add(session);
    m.connectionsOpen.inc();
    m.connectionsTotal.inc();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      port.lastSeen = Date.now();
      if (port.closed) return;
      if (isBinary) {
        port.closeFor('binary_frame');
        return;
      }
      if (!deliverFrame(session, (data as Buffer).toString('utf8'), lane, port.established))
        port.closeFor('handshake_flood');
    });
    const seen = (): void => {
      port.lastSeen = Date.now();
      port.pinged = false;
    };
    ws.on('pong', seen);
    ws.on('ping', seen);
    // `ws` has already answered the peer (1009 oversized, 1007 invalid UTF-8, 1002 protocol).
    ws.on('error', (err: Error & { code?: string }) => {
      port.closedBy(
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? 'frame_too_big'
          : err.code === 'WS_ERR_INVALID_UTF8'
            ? 'invalid_utf8'
            : 'protocol_error',
      );
    });
    ws.on('close', (code: number, reason: Buffer) => {
      port.markClosed(code, reason.toString('utf8'));
      sessions.delete(session);
      if (session.actor) stop(session.actor);
      m.connectionsOpen.dec();
    });
    try {
      session.actor = deps.openSession(port, circle);
    } catch (err) {
      log.error({ err }, 'could not start a session');
      port.closeFor('crash');
    }
  };

  // uWS-like idle handling: ping a quiet peer at half the idle timeout, drop it at the timeout.
  const idleMs = deps.idleTimeoutSeconds * 1000;
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const { port } of sessions) {
        const quiet = now - port.lastSeen;
        if (quiet > idleMs) port.terminate();
        else if (quiet > idleMs / 2 && !port.pinged && !port.closed) {
          port.pinged = true;
          port.ws.ping();
        }
      }
    },
    Math.max(250, idleMs / 8),
  );
  sweep.unref();

  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      clearInterval(sweep);
      reject(
        err.code === 'EADDRINUSE'
          ? listenFailure(deps.host, deps.port, 'address in use')
          : listenFailure(deps.host, deps.port, err.code ?? err.message),
      );
    });
    // exclusive: no port sharing with another process, whatever the platform's defaults.
    server.listen({ host: deps.host, port: deps.port, exclusive: true }, () => {
      server.on('error', (err) => log.error({ err }, 'http server error'));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : deps.port;
      resolve({
        url: urlOf(!!deps.tls, deps.host, port),
        port,
        transport: 'ws',
        stopAccepting() {
          accepting = false;
          server.close();
          server.closeIdleConnections();
        },
        closeAll(reason) {
          for (const { port: p } of [...sessions]) p.closeFor(reason);
          clearInterval(sweep);
          // A peer that never answers our close frame is dropped, so a stop never hangs on it.
          setTimeout(() => {
            for (const { port: p } of [...sessions]) p.terminate();
            server.closeAllConnections();
          }, CLOSE_GRACE_MS).unref();
        },
        get openSockets() {
          return sessions.size;
        },
      });
    });
  });
}
