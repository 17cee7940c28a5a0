import { CirclesConnectionError } from './errors';

/** The part of the WHATWG WebSocket the client uses; browsers, Node ≥ 22 and `ws` all have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the TCP connection at once, without a closing handshake. */
  terminate?(): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The WebSocket constructor to use: the one given, else the runtime's own, else (Node 20,
 * which has none) the `ws` package. The package's `browser` field maps `ws` to nothing, so a
 * browser bundle never contains it; browsers never reach that branch.
 */
export function resolveWebSocket(given?: unknown): WebSocketConstructor {
  if (given !== undefined) {
    if (typeof given !== 'function') throw new TypeError('ClientOptions.WebSocket must be a constructor');
    return given as WebSocketConstructor;
  }
  const native = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof native === 'function') return native as WebSocketConstructor;
  let fallback: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    fallback = require('ws');
  } catch {
    fallback = undefined;
  }
  if (typeof fallback !== 'function') {
    throw new CirclesConnectionError('this runtime has no WebSocket: pass ClientOptions.WebSocket');
  }
  return fallback as WebSocketConstructor;
}

const ignore = (): void => undefined;

/**
 * Stops listening to a socket we are done with and drops it. `ws` raises an `error` when a
 * socket still connecting is closed, and an `error` with no listener would crash Node, hence
 * the no-op handlers rather than `null`.
 */
export function discardSocket(ws: WebSocketLike): void {
  ws.onopen = ignore;
  ws.onclose = ignore;
  ws.onerror = ignore;
  ws.onmessage = ignore;
  try {
    if (ws.terminate) ws.terminate();
    else ws.close();
  } catch {
    // already closed
  }
}

/** The most a browser or `ws` error event says (browsers say nothing, by design). */
export function socketErrorText(event: unknown): string {
  const e = event as { message?: unknown; error?: { message?: unknown } } | null;
  const text = e?.message ?? e?.error?.message;
  return typeof text === 'string' ? text : '';
}
