import { stop } from 'nact';
import type { HttpRequest, HttpResponse, us_listen_socket, WebSocket } from 'uWebSockets.js';
import { errorAnswer } from './http-response';
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
import { UwsSocketPort } from './uws-socket-port';
import { answerUwsAsync, readUwsBody, writeUwsAnswer } from './uws-http';
import { loadNativeUws } from './uws';

interface UserData extends SessionInbox {
  circle: string;
  port?: UwsSocketPort<UserData>;
}

/** uSockets' flag for a listen socket without SO_REUSEPORT: a port in use fails the start. */
const LISTEN_EXCLUSIVE_PORT = 1;

/**
 * The uWebSockets.js transport: the routes of SPEC §1 on one catch-all handler, the
 * upgrade on `/{circle_pk}` answering 400/404 before upgrading, one session per socket.
 */
export function startUwsListener(deps: ListenerDeps): Promise<Listener> {
  const native = loadNativeUws();
  if (!native.ok) throw new ListenError(native.reason);
  const uws = native.uws;
  const log = deps.logger;
  if (deps.tls) readTlsFiles(deps.tls); // one clear line for an unreadable file
  const app = deps.tls
    ? uws.SSLApp({ cert_file_name: deps.tls.cert, key_file_name: deps.tls.key })
    : uws.App();
  const sockets = new Set<UwsSocketPort<UserData>>();
  let accepting = true;
  let listenSocket: us_listen_socket | undefined;
  const m = deps.metrics;
  const lane = deps.newcomers;

  const refuse = (
    res: HttpResponse,
    status: number,
    error: string,
    headers?: Record<string, string>,
  ): void => {
    m.upgradesRejected.inc({ status: String(status) });
    writeUwsAnswer(res, { ...errorAnswer(status, error), headers });
  };

  const http = (res: HttpResponse, req: HttpRequest): void => {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    // uWS hands the body only to handlers registered in this turn.
    let body: Promise<Buffer | null> = Promise.resolve(null);
    if (wantsBody(method, path)) {
      const declared = headers['content-length'] ? Number(headers['content-length']) : null;
      body = readUwsBody(res, deps.maxWebhookBodyBytes, Number.isFinite(declared) ? declared : null);
    }
    answerUwsAsync(
      res,
      () => routeHttp(deps, { method, path, headers, body: () => body }),
      (err) => log.error({ err, path }, 'http route failed'),
      method === 'HEAD',
    );
  };

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
      if (!found.ok) return refuse(res, found.status, found.error);
      if (!accepting) return refuse(res, 503, 'server is shutting down');
      // The request object dies with this callback: copy what the upgrade needs.
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      // Needed only when the upgrade waits (uWS requires it once a response outlives its callback).
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const upgrade = (): void =>
        res.upgrade<UserData>({ circle: found.circle }, key, protocol, extensions, context);
      lane.upgrade(
        (deferred) => {
          if (!deferred) return upgrade();
          if (aborted) return;
          if (!accepting) return refuse(res, 503, 'server is shutting down');
          res.cork(upgrade);
        },
        () => {
          if (!aborted) refuse(res, 503, BUSY, RETRY_AFTER);
        },
      );
    },
    open: (ws: WebSocket<UserData>) => {
      const ud = ws.getUserData();
      const port = new UwsSocketPort(ws, deps.maxBackpressureBytes, {
        onClosedFor: (reason) => m.socketsClosed.inc({ reason }),
      });
      ud.port = port;
      sockets.add(port);
      m.connectionsOpen.inc();
      m.connectionsTotal.inc();
      try {
        ud.actor = deps.openSession(port, ud.circle);
      } catch (err) {
        log.error({ err }, 'could not start a session');
        port.closeFor('crash');
      }
    },
    message: (ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean) => {
      const ud = ws.getUserData();
      if (!ud.port || !ud.actor) return;
      if (isBinary) {
        ud.port.closeFor('binary_frame');
        return;
      }
      if (message.byteLength > deps.maxFrameBytes) {
        ud.port.closeFor('frame_too_big');
        return;
      }
      if (!deliverFrame(ud, Buffer.from(message).toString('utf8'), lane, ud.port.established))
        ud.port.closeFor('handshake_flood');
    },
    close: (ws: WebSocket<UserData>, code: number, message: ArrayBuffer) => {
      const ud = ws.getUserData();
      ud.port?.markClosed(code, Buffer.from(message).toString('utf8'));
      if (ud.port) sockets.delete(ud.port);
      if (ud.actor) stop(ud.actor);
      m.connectionsOpen.dec();
    },
  });
  app.get('/*', http);
  app.any('/*', http);

  return new Promise((resolve, reject) => {
    // The typings lack the (host, port, options, cb) form the binding has.
    const listen = app.listen.bind(app) as unknown as (
      host: string,
      port: number,
      options: number,
      cb: (token: us_listen_socket | false) => void,
    ) => void;
    listen(deps.host, deps.port, LISTEN_EXCLUSIVE_PORT, (token) => {
      if (!token) {
        reject(listenFailure(deps.host, deps.port));
        return;
      }
      listenSocket = token;
      const port = uws.us_socket_local_port(token);
      resolve({
        url: urlOf(!!deps.tls, deps.host, port),
        port,
        transport: 'uws',
        stopAccepting() {
          accepting = false;
          if (listenSocket) uws.us_listen_socket_close(listenSocket);
          listenSocket = undefined;
        },
        closeAll(reason) {
          for (const s of [...sockets]) s.closeFor(reason);
        },
        get openSockets() {
          return sockets.size;
        },
      });
    });
  });
}
