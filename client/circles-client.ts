import { backoffDelay, reconnectPolicy, type ReconnectOptions, type ReconnectPolicy } from './backoff';
import { CirclesConnectionError, CirclesRpcError, CirclesTimeoutError } from './errors';
import type {
  AuthResult,
  MethodName,
  ParamsOf,
  PlayResult,
  ResultOf,
  TaskStatusResult,
  WhoamiResult,
} from './rpc-types';
import type { Signer } from './signers';
import {
  discardSocket,
  resolveWebSocket,
  socketErrorText,
  type WebSocketConstructor,
  type WebSocketLike,
} from './websocket';

export interface ClientOptions {
  /** `ws(s)://host:port/<circle_pk>` */
  url: string;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** Default 60 000, per call; a call's own `timeoutMs` overrides it. */
  callTimeoutMs?: number;
  /**
   * What a call made while disconnected does: `fail` (default) rejects at once with
   * {@link CirclesConnectionError}; `wait` waits for the reconnect (within its timeout).
   */
  whileDisconnected?: 'fail' | 'wait';
  /** Default on: 250 ms doubling to 10 s, full jitter, unlimited attempts. `false`: never. */
  reconnect?: false | ReconnectOptions;
  /** Default 15 000: a `whoami` ping; no answer within this → the connection is dead. 0: off. */
  heartbeatMs?: number;
  /** WebSocket constructor to use (tests, old runtimes). */
  WebSocket?: unknown;
}

export interface CallOptions {
  timeoutMs?: number;
  whileDisconnected?: 'fail' | 'wait';
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';
export type ClientEvent = 'open' | 'close' | 'reconnecting' | 'authenticated' | 'error';

/** Event details, for reference: `open` {@link OpenDetail}, `close` {@link CloseDetail}, … */
export interface OpenDetail {
  url: string;
  /** True when this open follows a lost connection. */
  reconnected: boolean;
}
export interface CloseDetail {
  code: number;
  reason: string;
  /** Whether the client will try to reconnect. */
  willReconnect: boolean;
}
export interface ReconnectingDetail {
  /** 1-based. */
  attempt: number;
  delayMs: number;
}

interface Call {
  readonly method: string;
  readonly params: unknown;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
  id?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 60_000;
const DEFAULT_HEARTBEAT_MS = 15_000;
/** setTimeout fires at once for delays beyond 2^31-1 ms: treat those as "no timeout". */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long close() waits for the server to acknowledge before dropping the socket. */
const CLOSE_GRACE_MS = 1000;
/** How long an error on an open socket waits for its close event before counting as one. */
const ERROR_CLOSE_GRACE_MS = 1000;
const INVALID_CREDENTIALS = -32002;
const INVALID_PARAMS = -32602;

function positive(name: string, value: number | undefined, fallback: number, zeroAllowed = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new TypeError(`${name} must be a positive number of milliseconds`);
  }
  return value;
}

/** A WebSocket URL with a host; checked here so a typo fails at once with the URL in the message. */
const WS_URL = /^wss?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/i;

function checkUrl(url: unknown): string {
  if (typeof url !== 'string' || !WS_URL.test(url))
    throw new TypeError(`not a ws:// or wss:// URL: ${String(url)}`);
  return url;
}

/**
 * A Circles client for browsers and Node: one WebSocket to one circle, JSON-RPC calls matched
 * to answers by id (pipelined), per-call timeouts, login with any {@link Signer}, reconnect with
 * backoff, re-authentication through the resume token, and a heartbeat that notices a
 * connection gone silent. Nothing is ever retried: a call either gets the server's answer or
 * fails with an error saying whether it had been sent.
 */
export class CirclesClient {
  readonly url: string;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly connectTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly whileDisconnected: 'fail' | 'wait';
  private readonly reconnectPolicy: ReconnectPolicy | null;
  private readonly heartbeatMs: number;

  private currentState: ClientState = 'idle';
  private socket: WebSocketLike | null = null;
  /** Aborts the socket being opened (first connect or a reconnect attempt), for close(). */
  private abortOpening: ((message: string) => void) | null = null;
  private connectPromise: Promise<void> | null = null;
  private closedByUser = false;
  private nextId = 1;
  /** Sent calls waiting for their answer, by id. */
  private readonly inFlight = new Map<number, Call>();
  /** Calls waiting for the connection (whileDisconnected: 'wait') or for re-authentication. */
  private readonly queued = new Set<Call>();
  private readonly listeners = new Map<ClientEvent, Set<(detail: any) => void>>();
  /** Those waiting in connect() while the client reconnects. */
  private openWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  private signer: Signer | null = null;
  private resumeToken: string | null = null;
  private currentIdentity: AuthResult | null = null;
  /** True from a (re)open until re-authentication is done: user calls queue meanwhile. */
  private reauthenticating = false;

  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private heartbeatPending = false;

  constructor(opts: ClientOptions) {
    if (!opts || typeof opts !== 'object') throw new TypeError('CirclesClient needs options with a url');
    this.url = checkUrl(opts.url);
    this.WebSocketImpl = resolveWebSocket(opts.WebSocket);
    this.connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    this.callTimeoutMs = positive('callTimeoutMs', opts.callTimeoutMs, DEFAULT_CALL_TIMEOUT_MS);
    this.heartbeatMs = positive('heartbeatMs', opts.heartbeatMs, DEFAULT_HEARTBEAT_MS, true);
    if (
      opts.whileDisconnected !== undefined &&
      opts.whileDisconnected !== 'fail' &&
      opts.whileDisconnected !== 'wait'
    ) {
      throw new TypeError("whileDisconnected must be 'fail' or 'wait'");
    }
    this.whileDisconnected = opts.whileDisconnected ?? 'fail';
    this.reconnectPolicy = opts.reconnect === false ? null : reconnectPolicy(opts.reconnect);
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** Who this client is logged in as (kept across reconnects), or null. */
  get identity(): AuthResult | null {
    return this.currentIdentity;
  }

  /** Opens the connection; rejects with {@link CirclesConnectionError} on timeout or refusal. */
  connect(): Promise<void> {
    if (this.closedByUser) return Promise.reject(new CirclesConnectionError('the client was closed'));
    if (this.currentState === 'open') return Promise.resolve();
    if (this.connectPromise) return this.connectPromise;
    if (this.currentState === 'reconnecting') {
      return new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    }
    this.currentState = 'connecting';
    this.connectPromise = this.openSocket().then(
      (ws) => {
        this.connectPromise = null;
        this.onOpened(ws, false);
      },
      (err: Error) => {
        this.connectPromise = null;
        if (!this.closedByUser) this.currentState = 'idle';
        throw err;
      },
    );
    return this.connectPromise;
  }

  /**
   * Logs in: `fetch_nonce` (by pubkey or address, as the signer's kind says) → sign →
   * `authenticate`. The signer and the resume token are kept to re-authenticate after a
   * reconnect, with the token first (no new signature) and a fresh signature only when the
   * token is refused.
   */
  async login(signer: Signer): Promise<AuthResult> {
    const result = await this.signIn(signer, (method, params) => this.request(method, params, {}));
    this.signer = signer;
    this.adopt(result);
    return result;
  }

  whoami(opts?: CallOptions): Promise<WhoamiResult> {
    return this.call('whoami', undefined, opts);
  }

  /** Runs a Rhai script in the circle: `{ output, task_id, logs? }`. */
  play(script: string, opts?: CallOptions): Promise<PlayResult> {
    return this.call('play', { script }, opts);
  }

  taskStatus(taskId: string, opts?: CallOptions): Promise<TaskStatusResult> {
    return this.call('task_status', { task_id: taskId }, opts);
  }

  /** The server's OpenRPC document. */
  discover(opts?: CallOptions): Promise<unknown> {
    return this.call('rpc.discover', undefined, opts);
  }

  /** Any method, typed from the OpenRPC document. */
  call<M extends MethodName>(method: M, params?: ParamsOf<M>, opts?: CallOptions): Promise<ResultOf<M>> {
    return this.request(method, params, opts ?? {}) as Promise<ResultOf<M>>;
  }

  /** Subscribes to an event; returns the unsubscribe. */
  on(event: ClientEvent, fn: (detail: any) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const own = (detail: unknown): void => fn(detail);
    set.add(own);
    return () => void set.delete(own);
  }

  /** Closes for good: no reconnect after this; calls still pending reject. */
  async close(): Promise<void> {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.currentState = 'closed';
    this.stopTimers();
    this.abortOpening?.('the client was closed');
    const closed = new CirclesConnectionError('the client was closed');
    this.failQueued(closed);
    this.failInFlight('the client was closed');
    for (const w of this.openWaiters.splice(0)) w.reject(closed);
    const ws = this.socket;
    this.socket = null;
    if (!ws) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        discardSocket(ws);
        resolve();
      }, CLOSE_GRACE_MS);
      ws.onmessage = null;
      ws.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        ws.close(1000, 'client closed');
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
    this.emit('close', { code: 1000, reason: 'client closed', willReconnect: false } satisfies CloseDetail);
  }

  // ---- calls ------------------------------------------------------------------------------

  private get ready(): boolean {
    return this.currentState === 'open' && this.socket !== null && !this.reauthenticating;
  }

  /** A user call: sent now when ready, else queued or failed as `whileDisconnected` says. */
  private request(method: string, params: unknown, opts: CallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // a bad option rejects (thrown inside the executor) rather than throwing at the caller
      const timeoutMs = positive('timeoutMs', opts.timeoutMs, this.callTimeoutMs);
      const mode = opts.whileDisconnected ?? this.whileDisconnected;
      const call: Call = { method, params, resolve, reject };
      if (this.ready) {
        this.startTimer(call, timeoutMs);
        this.send(call);
        return;
      }
      const connectedButAuthenticating = this.currentState === 'open' && this.reauthenticating;
      if (this.closedByUser || (mode === 'fail' && !connectedButAuthenticating)) {
        return reject(new CirclesConnectionError(`${method}: not connected (${this.currentState})`, false));
      }
      this.startTimer(call, timeoutMs);
      this.queued.add(call);
    });
  }

  /** An internal call (login steps, heartbeat): bypasses the re-authentication gate. */
  private direct(method: string, params: unknown, timeoutMs = this.callTimeoutMs): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call: Call = { method, params, resolve, reject };
      if (!this.socket) return reject(new CirclesConnectionError(`${method}: not connected`, false));
      this.startTimer(call, timeoutMs);
      this.send(call);
    });
  }

  private startTimer(call: Call, timeoutMs: number): void {
    if (timeoutMs > MAX_TIMER_MS) return;
    call.timer = setTimeout(() => {
      const sent = call.id !== undefined;
      if (sent) this.inFlight.delete(call.id!);
      else this.queued.delete(call);
      call.reject(new CirclesTimeoutError(`${call.method}: no answer within ${timeoutMs} ms`, sent));
    }, timeoutMs);
  }

  private send(call: Call): void {
    const ws = this.socket;
    const id = this.nextId++;
    const frame: Record<string, unknown> = { jsonrpc: '2.0', id, method: call.method };
    if (call.params !== undefined) frame.params = call.params;
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (err) {
      clearTimeout(call.timer);
      call.reject(new TypeError(`${call.method}: params are not JSON: ${(err as Error).message}`));
      return;
    }
    try {
      if (!ws) throw new Error('no socket');
      ws.send(text);
    } catch {
      clearTimeout(call.timer);
      call.reject(new CirclesConnectionError(`${call.method}: the connection is not open`, false));
      return;
    }
    call.id = id;
    this.inFlight.set(id, call);
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
      const m = msg as {
        id?: unknown;
        result?: unknown;
        error?: { code?: unknown; message?: unknown; data?: unknown };
      };
      if (typeof m?.id !== 'number') continue;
      const call = this.inFlight.get(m.id);
      if (!call) continue; // timed out already, or not ours
      this.inFlight.delete(m.id);
      clearTimeout(call.timer);
      if (m.error && typeof m.error === 'object') {
        const code = typeof m.error.code === 'number' ? m.error.code : -32603;
        const message = typeof m.error.message === 'string' ? m.error.message : 'error';
        call.reject(new CirclesRpcError(code, message, m.error.data));
      } else {
        call.resolve(m.result);
      }
    }
  }

  private flushQueued(): void {
    for (const call of [...this.queued]) {
      if (!this.ready) return;
      this.queued.delete(call);
      this.send(call);
    }
  }

  private failQueued(err: CirclesConnectionError): void {
    for (const call of this.queued) {
      clearTimeout(call.timer);
      call.reject(err);
    }
    this.queued.clear();
  }

  private failInFlight(reason: string): void {
    for (const call of this.inFlight.values()) {
      clearTimeout(call.timer);
      call.reject(new CirclesConnectionError(`${call.method}: ${reason} before the answer came`, true));
    }
    this.inFlight.clear();
  }

  // ---- connection -------------------------------------------------------------------------

  /** Opens one socket; resolves once it is open, rejects on refusal, error or timeout. */
  private openSocket(): Promise<WebSocketLike> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new this.WebSocketImpl(this.url);
      } catch (err) {
        reject(
          new CirclesConnectionError(
            `cannot connect to ${this.url}: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
        return;
      }
      let settled = false;
      const fail = (message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.abortOpening === fail) this.abortOpening = null;
        discardSocket(ws);
        reject(new CirclesConnectionError(message));
      };
      this.abortOpening = fail;
      const timer = setTimeout(
        () => fail(`no connection to ${this.url} within ${this.connectTimeoutMs} ms`),
        this.connectTimeoutMs,
      );
      // browsers follow an error with a close; Node's built-in WebSocket (undici) may not
      ws.onerror = (event) =>
        fail(`connection to ${this.url} failed: ${socketErrorText(event) || 'network error'}`);
      ws.onclose = (event) =>
        fail(`connection to ${this.url} failed: closed with code ${event?.code ?? 1006}`);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.abortOpening === fail) this.abortOpening = null;
        resolve(ws);
      };
    });
  }

  private onOpened(ws: WebSocketLike, reconnected: boolean): void {
    if (this.closedByUser) return discardSocket(ws);
    this.socket = ws;
    ws.onmessage = (event) => this.onFrame(event.data);
    ws.onerror = (event) => {
      // the close that should follow tells the code; if it never comes (undici), do without
      const reason = socketErrorText(event) || 'socket error';
      setTimeout(() => this.onLost(ws, 1006, reason), ERROR_CLOSE_GRACE_MS);
    };
    ws.onclose = (event) => this.onLost(ws, event?.code ?? 1006, event?.reason ?? '');
    this.currentState = 'open';
    this.startHeartbeat();
    this.reauthenticating = this.signer !== null;
    this.emit('open', { url: this.url, reconnected } satisfies OpenDetail);
    for (const w of this.openWaiters.splice(0)) w.resolve();
    if (this.reauthenticating) void this.reauthenticate(ws);
    else this.becameReady();
  }

  private becameReady(): void {
    this.attempt = 0;
    this.flushQueued();
  }

  /** The socket closed (or was declared dead): fail what it carried, then reconnect or stop. */
  private onLost(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.socket) return;
    this.socket = null;
    this.reauthenticating = false;
    this.stopHeartbeat();
    discardSocket(ws);
    this.failInFlight(`connection lost (${code}${reason ? ` ${reason}` : ''})`);
    const willReconnect = this.reconnectPolicy !== null && !this.closedByUser;
    this.currentState = willReconnect ? 'reconnecting' : 'idle';
    this.emit('close', { code, reason, willReconnect } satisfies CloseDetail);
    if (willReconnect) this.scheduleReconnect();
    else this.failQueued(new CirclesConnectionError('connection lost; reconnect is off', false));
  }

  private scheduleReconnect(): void {
    const policy = this.reconnectPolicy!;
    if (this.closedByUser) return;
    if (this.attempt >= policy.maxAttempts) return this.giveUp(policy.maxAttempts);
    this.attempt += 1;
    const delayMs = backoffDelay(policy, this.attempt);
    this.currentState = 'reconnecting';
    this.emit('reconnecting', { attempt: this.attempt, delayMs } satisfies ReconnectingDetail);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.openSocket().then(
        (ws) => this.onOpened(ws, true),
        () => this.scheduleReconnect(),
      );
    }, delayMs);
  }

  private giveUp(attempts: number): void {
    this.currentState = 'closed';
    const err = new CirclesConnectionError(`gave up reconnecting to ${this.url} after ${attempts} attempts`);
    this.failQueued(err);
    for (const w of this.openWaiters.splice(0)) w.reject(err);
    this.emit('error', err);
  }

  /** Declares the socket dead without waiting for a closing handshake that will not come. */
  private dropSocket(ws: WebSocketLike, reason: string): void {
    this.onLost(ws, 1006, reason);
  }

  // ---- authentication ---------------------------------------------------------------------

  private async signIn(
    signer: Signer,
    call: (method: string, params: unknown) => Promise<unknown>,
  ): Promise<AuthResult> {
    const who = await signer.identity();
    const key = signer.kind === 'address' ? 'address' : 'pubkey';
    const { nonce } = (await call('fetch_nonce', { [key]: who })) as { nonce: string };
    const signature = await signer.signMessage(nonce);
    return (await call('authenticate', { [key]: who, signature })) as AuthResult;
  }

  private adopt(result: AuthResult): void {
    this.currentIdentity = result;
    if (typeof result?.resume_token === 'string') this.resumeToken = result.resume_token;
    this.emit('authenticated', result);
  }

  /** After a reconnect: the resume token first; a fresh signature only if it is refused. */
  private async reauthenticate(ws: WebSocketLike): Promise<void> {
    const signer = this.signer!;
    try {
      let result: AuthResult | null = null;
      if (this.resumeToken) {
        try {
          result = (await this.direct('authenticate', { resume_token: this.resumeToken })) as AuthResult;
        } catch (err) {
          // expired/invalid (-32002), or a server that does not know tokens (-32602)
          if (!(
            err instanceof CirclesRpcError &&
            (err.code === INVALID_CREDENTIALS || err.code === INVALID_PARAMS)
          )) {
            throw err;
          }
          this.resumeToken = null;
        }
      }
      result ??= await this.signIn(signer, (method, params) => this.direct(method, params));
      if (ws !== this.socket) return;
      this.reauthenticating = false;
      this.adopt(result);
      this.becameReady();
    } catch (err) {
      if (ws !== this.socket) return; // the connection went meanwhile; the next open tries again
      this.emit('error', err);
      if (err instanceof CirclesRpcError && err.code === INVALID_CREDENTIALS) {
        // the signer itself was refused: stay connected, anonymous
        this.signer = null;
        this.resumeToken = null;
        this.currentIdentity = null;
        this.reauthenticating = false;
        this.becameReady();
        return;
      }
      // anything else (busy server, timeout) is worth another connection, after a backoff
      this.dropSocket(ws, 're-authentication failed');
    }
  }

  // ---- heartbeat --------------------------------------------------------------------------

  private startHeartbeat(): void {
    this.stopHeartbeat();
    if (this.heartbeatMs === 0) return;
    this.heartbeatTimer = setInterval(() => this.beat(), this.heartbeatMs);
  }

  private beat(): void {
    const ws = this.socket;
    if (!ws || this.heartbeatPending) return;
    this.heartbeatPending = true;
    this.direct('whoami', undefined, this.heartbeatMs).then(
      () => {
        if (ws === this.socket) this.heartbeatPending = false;
      },
      (err: unknown) => {
        if (ws !== this.socket) return;
        this.heartbeatPending = false;
        if (err instanceof CirclesTimeoutError) {
          this.dropSocket(ws, `no answer to the heartbeat within ${this.heartbeatMs} ms`);
        }
      },
    );
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.heartbeatPending = false;
  }

  private stopTimers(): void {
    this.stopHeartbeat();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  // ---- events -----------------------------------------------------------------------------

  private emit(event: ClientEvent, detail: unknown): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        fn(detail);
      } catch (err) {
        // a listener's bug must not break the connection logic; report it once, as an error event
        if (event !== 'error') this.emit('error', err);
      }
    }
  }
}
