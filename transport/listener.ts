import fs from 'node:fs';
import type { Ref } from 'nact';
import type { Logger } from '../log';
import type { Metrics } from '../server/metrics';
import type { CloseReason } from './close-reasons';
import type { FramesMsg } from './frame-intake';
import type { NewcomerLane } from './newcomer-lane';
import type { RouteDeps } from './routes';
import type { SocketPort } from './socket-port';

export type { CircleLookup, WebhookRequest } from './routes';

/** Which WebSocket implementation serves: uWebSockets.js (native) or `ws` on node:http. */
export type TransportName = 'uws' | 'ws';
export type TransportChoice = TransportName | 'auto';

export interface ListenerDeps extends RouteDeps {
  readonly host: string;
  readonly port: number;
  readonly tls?: { cert: string; key: string };
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxWebhookBodyBytes: number;
  /** Where upgrades and handshaking sessions' frames wait behind established sessions. */
  readonly newcomers: NewcomerLane;
  /** Spawns the session actor for a new socket. */
  readonly openSession: (port: SocketPort, circle: string) => Ref<FramesMsg>;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface Listener {
  readonly url: string;
  readonly port: number;
  readonly transport: TransportName;
  /** Stops accepting connections and upgrades; open sockets stay. */
  stopAccepting(): void;
  /** Closes every open socket for `reason` (its code and text from close-reasons.ts). */
  closeAll(reason: CloseReason): void;
  readonly openSockets: number;
}

/** Raised at startup when the listener cannot be created; the message is one clear line. */
export class ListenError extends Error {}

export function readTlsFiles(tls: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  const read = (what: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch {
      throw new ListenError(`cannot read TLS ${what} file ${file}`);
    }
  };
  return { cert: read('certificate', tls.cert), key: read('key', tls.key) };
}

export const listenFailure = (
  host: string,
  port: number,
  why = 'address in use or not available',
): ListenError => new ListenError(`cannot listen on ${host}:${port} (${why})`);

export function urlOf(tls: boolean, host: string, port: number): string {
  return `${tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
