import { randomUUID } from 'node:crypto';
import { dispatch, type Ref } from 'nact';
import { normalizePubkey } from '../auth/keys';
import { NonceBook, type IssuedNonce } from '../auth/nonces';
import { decodeSignature } from '../auth/signature';
import type { SignatureVerifier } from '../auth/verify-pool';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { RpcErrorCode, rpcError } from '../rpc/errors';
import { DEFAULT_MAX_BATCH, type Respond, type RpcCall, type RpcHandler } from '../rpc/core';
import { isMethodName, parseParams } from '../rpc/params';
import { CloseCode, type SocketPort } from '../transport/socket-port';
import type { PlayMsg, PlayOutcome, PlayResultMsg } from './play-protocol';

/** What a session needs from the server around it. */
export interface SessionDeps {
  readonly port: SocketPort;
  /** Canonical key of the circle this socket is bound to. */
  readonly circle: string;
  readonly requireAuth: boolean;
  readonly maxInflight: number;
  /**
   * Most members of one JSON-RPC batch (`--max-batch`); more → one -32600 naming the limit,
   * no member evaluated. Absent: {@link DEFAULT_MAX_BATCH}.
   */
  readonly maxBatch?: number;
  /** 0 = no limit. */
  readonly maxRequestsPerSecond: number;
  readonly maxFailedAuth: number;
  readonly nonceTtlSeconds: number;
  readonly maxNonces: number;
  readonly dispatcher: Ref<PlayMsg>;
  readonly verifier: SignatureVerifier;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly openrpc: unknown;
  /** Unix seconds (injected so specs can move time). */
  readonly now: () => number;
  /** True once the server drains: new plays are refused. */
  readonly draining: () => boolean;
  /** Counts plays in flight across the server, for the drain. */
  readonly inflight: { started(): void; finished(): void };
}

/** The result of an off-loop signature check, delivered back to the session actor. */
export interface AuthCheckedMsg {
  readonly type: 'auth-checked';
  readonly pubkey: string;
  readonly candidates: readonly IssuedNonce[];
  readonly index: number;
  readonly respond: Respond;
}

interface InflightPlay {
  readonly respond: Respond;
  readonly startedAt: number;
}

const invalidKey = (path: string) =>
  rpcError(RpcErrorCode.InvalidParams, { issues: [{ path, message: 'not a valid secp256k1 public key' }] });

/**
 * One WebSocket session's state and JSON-RPC methods: its nonces, identity, failed attempts
 * and plays in flight. It lives inside its CircleWs actor and is only touched from that
 * actor's handler, so it needs no locking.
 */
export class Session implements RpcHandler {
  private readonly nonces: NonceBook;
  private identity: string | null = null;
  private failures = 0;
  private readonly plays = new Map<string, InflightPlay>();
  /** Token bucket of the request-rate limit: tokens left, refilled continuously. */
  private tokens: number;
  private tokensAt = performance.now();
  /** Whether debug lines are logged (checked once; with debug off none is formatted). */
  private readonly debug: boolean;

  constructor(
    private readonly deps: SessionDeps,
    private readonly self: Ref<PlayResultMsg | AuthCheckedMsg>,
  ) {
    this.nonces = new NonceBook(deps.maxNonces, deps.nonceTtlSeconds);
    this.tokens = deps.maxRequestsPerSecond;
    this.debug = deps.logger.isLevelEnabled('debug');
  }

  /** Takes one request's token; false when the session is over its rate. */
  private withinRate(): boolean {
    const rate = this.deps.maxRequestsPerSecond;
    if (rate === 0) return true;
    const now = performance.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Read by the JSON-RPC core for each batch (RpcHandler). */
  get maxBatch(): number {
    return this.deps.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  get inflightCount(): number {
    return this.plays.size;
  }

  handle(call: RpcCall, respond: Respond): void {
    if (!this.withinRate()) {
      return respond({
        error: rpcError(RpcErrorCode.TooManyRequests, {
          limit: `${this.deps.maxRequestsPerSecond} requests/s`,
        }),
      });
    }
    const { method } = call;
    if (!isMethodName(method)) {
      respond({ error: rpcError(RpcErrorCode.MethodNotFound) });
      return;
    }
    switch (method) {
      case 'whoami': {
        // the common no-params call skips zod: this is the hot path of an idle session
        if (call.params !== undefined) {
          const p = parseParams('whoami', call.params);
          if (!p.ok) return respond({ error: p.error });
        }
        return respond({
          result: { authenticated: this.identity !== null, pubkey: this.identity, circle: this.deps.circle },
        });
      }
      case 'fetch_nonce': {
        const p = parseParams('fetch_nonce', call.params);
        if (!p.ok) return respond({ error: p.error });
        const pubkey = normalizePubkey(p.value.pubkey);
        if (!pubkey) return respond({ error: invalidKey('pubkey') });
        const n = this.nonces.issue(pubkey, this.deps.now());
        return respond({ result: { nonce: n.nonce, expires_at: n.expiresAt } });
      }
      case 'authenticate':
        return this.authenticate(call, respond);
      case 'play':
        return this.play(call, respond);
      case 'rpc.discover': {
        const p = parseParams('rpc.discover', call.params);
        if (!p.ok) return respond({ error: p.error });
        return respond({ result: this.deps.openrpc });
      }
    }
  }

  onInternalError(call: RpcCall, error: unknown): void {
    this.deps.logger.error({ err: error, method: call.method, circle: this.deps.circle }, 'method failed');
  }

  private authenticate(call: RpcCall, respond: Respond): void {
    const p = parseParams('authenticate', call.params);
    if (!p.ok) return respond({ error: p.error });
    const pubkey = normalizePubkey(p.value.pubkey);
    if (!pubkey) return respond({ error: invalidKey('pubkey') });
    if (!decodeSignature(p.value.signature)) {
      return respond({
        error: rpcError(RpcErrorCode.InvalidParams, {
          issues: [
            { path: 'signature', message: 'expected 64 or 65 bytes of hex (r‖s or r‖s‖v, v ∈ 0,1,27,28)' },
          ],
        }),
      });
    }
    // Reserve every nonce of this key: a success consumes the one that verified and
    // returns the rest; a failure consumes them all.
    const candidates = this.nonces.take(pubkey, this.deps.now());
    if (candidates.length === 0) return this.authFailed(respond, 'no_nonce');
    const { signature } = p.value;
    this.deps.verifier
      .verify(
        candidates.map((c) => c.nonce),
        signature,
        pubkey,
      )
      .then(
        (index) => dispatch(this.self, { type: 'auth-checked', pubkey, candidates, index, respond }),
        () => dispatch(this.self, { type: 'auth-checked', pubkey, candidates, index: -1, respond }),
      );
  }

  /** Continues `authenticate` once the verifier thread has answered. */
  onAuthChecked(msg: AuthCheckedMsg): void {
    if (msg.index < 0) return this.authFailed(msg.respond, 'bad_signature');
    this.nonces.restore(msg.candidates.filter((_, i) => i !== msg.index));
    this.identity = msg.pubkey;
    this.deps.metrics.auth.inc({ outcome: 'success' });
    if (this.debug) this.deps.logger.debug({ outcome: 'success', pubkey: msg.pubkey }, 'login');
    msg.respond({ result: { authenticated: true } });
  }

  /** `why`: no unexpired nonce was issued to the key, or the signature matched none. */
  private authFailed(respond: Respond, why: 'no_nonce' | 'bad_signature'): void {
    this.failures++;
    this.deps.metrics.auth.inc({ outcome: 'failure' });
    if (this.debug)
      this.deps.logger.debug({ outcome: 'failure', reason: why, failures: this.failures }, 'login');
    respond({ error: rpcError(RpcErrorCode.InvalidCredentials) });
    if (this.failures >= this.deps.maxFailedAuth) {
      this.deps.metrics.socketsClosed.inc({ reason: 'auth_failures' });
      this.deps.port.close(CloseCode.PolicyViolation, 'too many failed authentication attempts');
    }
  }

  private play(call: RpcCall, respond: Respond): void {
    const p = parseParams('play', call.params);
    if (!p.ok) return respond({ error: p.error });
    if (this.deps.requireAuth && this.identity === null) {
      this.deps.metrics.plays.inc({ outcome: 'unauthenticated' });
      if (this.debug) this.logPlay(null, 'unauthenticated', 0);
      return respond({ error: rpcError(RpcErrorCode.AuthenticationRequired) });
    }
    if (this.deps.draining()) {
      this.deps.metrics.plays.inc({ outcome: 'unavailable' });
      if (this.debug) this.logPlay(null, 'unavailable', 0);
      return respond({
        error: rpcError(RpcErrorCode.ServiceUnavailable, { reason: 'server is shutting down' }),
      });
    }
    if (this.plays.size >= this.deps.maxInflight) {
      this.deps.metrics.plays.inc({ outcome: 'rejected' });
      if (this.debug) this.logPlay(null, 'rejected', 0);
      return respond({ error: rpcError(RpcErrorCode.TooManyRequests, { limit: this.deps.maxInflight }) });
    }
    const taskId = randomUUID();
    this.plays.set(taskId, { respond, startedAt: performance.now() });
    this.deps.inflight.started();
    dispatch(this.deps.dispatcher, {
      type: 'play',
      taskId,
      script: p.value.script,
      callerId: this.identity ?? 'anonymous',
      contextId: this.deps.circle,
      replyTo: this.self,
    });
  }

  /** Answers a play when its result message arrives. */
  onPlayResult(msg: PlayResultMsg): void {
    const play = this.plays.get(msg.taskId);
    if (!play) return;
    this.plays.delete(msg.taskId);
    this.deps.inflight.finished();
    const o: PlayOutcome = msg.outcome;
    const m = this.deps.metrics;
    const ms = performance.now() - play.startedAt;
    m.playSeconds.observe(ms / 1000);
    m.plays.inc({ outcome: o.ok ? 'completed' : o.kind });
    if (this.debug) this.logPlay(msg.taskId, o.ok ? 'completed' : o.kind, ms);
    const task_id = msg.taskId;
    if (o.ok) return play.respond({ result: { output: o.output, task_id } });
    switch (o.kind) {
      case 'execution':
        return play.respond({ error: rpcError(RpcErrorCode.ExecutionError, { task_id, error: o.error }) });
      case 'timeout':
        return play.respond({ error: rpcError(RpcErrorCode.ExecutionTimeout, { task_id }) });
      case 'unavailable':
        return play.respond({ error: rpcError(RpcErrorCode.ServiceUnavailable, { task_id }) });
    }
  }

  /**
   * One debug line per play answered (or refused before it was queued: no task id); the
   * session's logger carries its id and circle.
   */
  private logPlay(taskId: string | null, outcome: string, ms: number): void {
    this.deps.logger.debug({ taskId, durationMs: Math.round(ms * 1000) / 1000, outcome }, 'play');
  }

  /** The socket is gone: release the drain counter for plays nobody will read. */
  release(): void {
    for (let i = 0; i < this.plays.size; i++) this.deps.inflight.finished();
    this.plays.clear();
  }
}
