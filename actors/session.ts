import { randomUUID } from 'node:crypto';
import { dispatch, type Ref } from 'nact';
import { addressOfPubkey } from '../auth/address';
import { NonceBook, type IssuedNonce } from '../auth/nonces';
import type { ResumeRefusal, ResumeTokens } from '../auth/resume-token';
import type { SignatureVerifier, SignerMatch } from '../auth/verify-pool';
import type { Logger } from '../log';
import type { Metrics } from '../server/metrics';
import { RpcErrorCode, rpcError } from '../rpc/errors';
import { DEFAULT_MAX_BATCH, type Respond, type RpcCall, type RpcHandler } from '../rpc/core';
import { markPlay } from '../play-trace';
import { loginRequestOf, nonceSubjectOf } from '../rpc/login-params';
import { isMethodName, parseParams } from '../rpc/params';
import { readTaskStatus, type TaskStateReader } from '../rpc/task-status';
import type { SocketPort } from '../transport/socket-port';
import {
  executionErrorData,
  playResult,
  type PlayMsg,
  type PlayOutcome,
  type PlayResultMsg,
} from './play-protocol';

/**
 * What every session of a server shares: its limits and collaborators. Built once per server
 * (server/circle-server.ts); each socket adds only its {@link SessionSocket}.
 */
export interface SessionConfig {
  readonly requireAuth: boolean;
  readonly maxInflight: number;
  /**
   * Most members of one JSON-RPC batch (`--max-batch`); more → one -32600 naming the limit,
   * no member evaluated. Absent: {@link DEFAULT_MAX_BATCH}.
   */
  readonly maxBatch?: number;
  /**
   * Logins being verified across the server at most (`--max-handshakes`); one more
   * authenticate is answered -32005 and does not count as a failure. Absent: no limit.
   */
  readonly maxVerifying?: number;
  /** 0 = no limit. */
  readonly maxRequestsPerSecond: number;
  readonly maxFailedAuth: number;
  readonly nonceTtlSeconds: number;
  readonly maxNonces: number;
  readonly dispatcher: Ref<PlayMsg>;
  readonly verifier: SignatureVerifier;
  /** Issues the resume token of each login and checks the ones presented (SPEC §3.8). */
  readonly resumeTokens: ResumeTokens;
  /** The task backend's read of a task, for `task_status` (SPEC §3.9). */
  readonly tasks: TaskStateReader;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly openrpc: unknown;
  /** Unix seconds (injected so specs can move time). */
  readonly now: () => number;
  /** True once the server drains: new plays are refused. */
  readonly draining: () => boolean;
  /** Counts plays in flight across the server, for the drain. */
  readonly inflight: { started(): void; finished(): void };
  /**
   * Runs the rest of a newcomer's login (its verified signature's answer) when the server's
   * newcomer lane allows, so a burst of checks finishing together cannot make one long
   * event-loop turn ahead of established sessions. Absent: at once.
   */
  readonly newcomerWork?: (run: () => void) => void;
}

/** What one socket adds to its server's {@link SessionConfig}. */
export interface SessionSocket {
  readonly port: SocketPort;
  /** Canonical key of the circle this socket is bound to. */
  readonly circle: string;
  /** The server's logger, or (at debug level) a child naming this session and its circle. */
  readonly logger: Logger;
}

/**
 * The result of an off-loop signature check, delivered back to the session actor. Like a
 * play's result it names its request by id; the reply callback stays in the session.
 */
export interface AuthCheckedMsg {
  readonly type: 'auth-checked';
  readonly loginId: number;
  /** The key that signed: the one given, or recovered (address login); absent when none did. */
  readonly pubkey?: string;
  /** Its EIP-55 address, derived on the verification thread. */
  readonly address?: string;
  /** Which of the login's candidate nonces verified; -1 for none. */
  readonly index: number;
}

interface InflightPlay {
  readonly respond: Respond;
  readonly startedAt: number;
}

/** A login whose signature is being checked off the event loop. */
interface PendingLogin {
  readonly respond: Respond;
  /** The nonces reserved for it: the one that verified is consumed, the rest returned. */
  readonly candidates: readonly IssuedNonce[];
}

/** Why a login failed, for the debug line (never the token itself). */
type AuthFailure = 'no_nonce' | 'bad_signature' | `token_${ResumeRefusal}`;

/**
 * One WebSocket session's state and JSON-RPC methods: its nonces, identity, failed attempts
 * and plays in flight. It lives inside its CircleWs actor and is only touched from that
 * actor's handler, so it needs no locking.
 */
export class Session implements RpcHandler {
  private readonly nonces: NonceBook;
  private identity: string | null = null;
  /** EIP-55 address of `identity`, computed once per login (whoami is the idle hot path). */
  private address: string | null = null;
  private failures = 0;
  private readonly plays = new Map<string, InflightPlay>();
  private readonly logins = new Map<number, PendingLogin>();
  private loginSeq = 0;
  /** Token bucket of the request-rate limit: tokens left, refilled continuously. */
  private tokens: number;
  private tokensAt = performance.now();
  /** Whether debug lines are logged (checked once; with debug off none is formatted). */
  private readonly debug: boolean;

  private readonly port: SocketPort;
  private readonly circle: string;
  private readonly logger: Logger;

  constructor(
    private readonly deps: SessionConfig,
    socket: SessionSocket,
    private readonly self: Ref<PlayResultMsg | AuthCheckedMsg>,
  ) {
    ({ port: this.port, circle: this.circle, logger: this.logger } = socket);
    this.nonces = new NonceBook(deps.maxNonces, deps.nonceTtlSeconds);
    this.tokens = deps.maxRequestsPerSecond;
    this.debug = this.logger.isLevelEnabled('debug');
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
    // Past the failed-login limit the socket is closing: later frames of its batch get nothing.
    if (this.failures >= this.deps.maxFailedAuth) return;
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
    // Past its handshake: where login is optional, any other request; else a login (below).
    if (!this.deps.requireAuth && method !== 'fetch_nonce' && method !== 'authenticate')
      this.port.markEstablished();
    switch (method) {
      case 'whoami': {
        // the common no-params call skips zod: this is the hot path of an idle session
        if (call.params !== undefined) {
          const p = parseParams('whoami', call.params);
          if (!p.ok) return respond({ error: p.error });
        }
        return respond({
          result: {
            authenticated: this.identity !== null,
            pubkey: this.identity,
            address: this.address,
            circle: this.circle,
          },
        });
      }
      case 'fetch_nonce': {
        const p = parseParams('fetch_nonce', call.params);
        if (!p.ok) return respond({ error: p.error });
        const subject = nonceSubjectOf(p.value);
        if (!subject.ok) return respond({ error: subject.error });
        const n = this.nonces.issue(subject.value, this.deps.now());
        return respond({ result: { nonce: n.nonce, expires_at: n.expiresAt } });
      }
      case 'authenticate':
        return this.authenticate(call, respond);
      case 'play':
        return this.play(call, respond);
      case 'task_status':
        return this.taskStatus(call, respond);
      case 'rpc.discover': {
        const p = parseParams('rpc.discover', call.params);
        if (!p.ok) return respond({ error: p.error });
        return respond({ result: this.deps.openrpc });
      }
    }
  }

  onInternalError(call: RpcCall, error: unknown): void {
    this.logger.error({ err: error, method: call.method, circle: this.circle }, 'method failed');
  }

  private authenticate(call: RpcCall, respond: Respond): void {
    const p = parseParams('authenticate', call.params);
    if (!p.ok) return respond({ error: p.error });
    const checked = loginRequestOf(p.value);
    if (!checked.ok) return respond({ error: checked.error });
    const login = checked.value;
    if (login.kind === 'resume') return this.resume(login.token, respond);
    // Storm admission: a signature check waits in the verifier pool; a resume does not.
    if (this.deps.verifier.pending >= (this.deps.maxVerifying ?? Infinity)) {
      return respond({
        error: rpcError(RpcErrorCode.TooManyRequests, {
          limit: `${this.deps.maxVerifying} logins in progress`,
        }),
      });
    }
    // Reserve every nonce of this key or address: a success consumes the one that verified
    // and returns the rest; a failure consumes them all.
    const candidates = this.nonces.take(
      login.kind === 'pubkey' ? login.pubkey : login.address,
      this.deps.now(),
    );
    if (candidates.length === 0) return this.authFailed(respond, 'no_nonce');
    const messages = candidates.map((c) => c.nonce);
    const loginId = ++this.loginSeq;
    this.logins.set(loginId, { respond, candidates });
    const answer = (checked: SignerMatch): void => {
      const msg: AuthCheckedMsg = { type: 'auth-checked', loginId, ...checked };
      const later = this.deps.newcomerWork;
      if (later) later(() => dispatch(this.self, msg));
      else dispatch(this.self, msg);
    };
    const checking =
      login.kind === 'pubkey'
        ? this.deps.verifier.verify(messages, login.signature, login.pubkey)
        : this.deps.verifier.recoverAddress(messages, login.signature, login.address);
    checking.then(answer, () => answer({ index: -1 }));
  }

  /** A resume token (SPEC §3.8): checked here, a keyed hash of 146 bytes costs microseconds. */
  private resume(token: string, respond: Respond): void {
    const r = this.deps.resumeTokens.check(token, this.circle, this.deps.now());
    if (!r.ok) return this.authFailed(respond, `token_${r.reason}`);
    this.loggedIn(r.pubkey, respond);
  }

  /** Continues `authenticate` once the verifier thread has answered. */
  onAuthChecked(msg: AuthCheckedMsg): void {
    const login = this.logins.get(msg.loginId);
    if (!login) return;
    this.logins.delete(msg.loginId);
    if (msg.index < 0 || msg.pubkey === undefined) return this.authFailed(login.respond, 'bad_signature');
    this.nonces.restore(login.candidates.filter((_, i) => i !== msg.index));
    this.loggedIn(msg.pubkey, login.respond, msg.address);
  }

  /**
   * Every successful login: the identity, and a fresh resume token (sliding expiry).
   * `address`: the key's, when the verification thread derived it (else derived here).
   */
  private loggedIn(pubkey: string, respond: Respond, address?: string): void {
    this.identity = pubkey;
    this.address = address ?? addressOfPubkey(pubkey);
    this.port.markEstablished();
    this.deps.metrics.auth.inc({ outcome: 'success' });
    if (this.debug) this.logger.debug({ outcome: 'success', pubkey }, 'login');
    const resume = this.deps.resumeTokens.issue(this.circle, pubkey, this.deps.now());
    respond({
      result: {
        authenticated: true,
        pubkey,
        address: this.address,
        resume_token: resume.token,
        resume_expires_at: resume.expiresAt,
      },
    });
  }

  /** `why`: no unexpired nonce was issued, the signature matched none, or the token was refused. */
  private authFailed(respond: Respond, why: AuthFailure): void {
    this.failures++;
    this.deps.metrics.auth.inc({ outcome: 'failure' });
    if (this.debug) this.logger.debug({ outcome: 'failure', reason: why, failures: this.failures }, 'login');
    respond({ error: rpcError(RpcErrorCode.InvalidCredentials) });
    if (this.failures >= this.deps.maxFailedAuth) {
      // A failure found in a frames turn (no nonce, a refused token) answers into the turn's
      // buffer, written when the turn ends: close after that, or the answer would be lost.
      setImmediate(() => this.port.closeFor('auth_failures'));
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
    markPlay(taskId, 'accepted');
    dispatch(this.deps.dispatcher, {
      type: 'play',
      taskId,
      script: p.value.script,
      callerId: this.identity ?? 'anonymous',
      contextId: this.circle,
      replyTo: this.self,
    });
  }

  /** `task_status` (SPEC §3.9): answered when the backend has read the task. */
  private taskStatus(call: RpcCall, respond: Respond): void {
    const p = parseParams('task_status', call.params);
    if (!p.ok) return respond({ error: p.error });
    if (this.deps.requireAuth && this.identity === null) {
      return respond({ error: rpcError(RpcErrorCode.AuthenticationRequired) });
    }
    const asker = { callerId: this.identity ?? 'anonymous', circle: this.circle };
    void readTaskStatus(this.deps.tasks, p.value.task_id, asker, (err) =>
      this.logger.error({ err, circle: this.circle }, 'task_status read failed'),
    ).then(respond);
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
    markPlay(task_id, 'answered');
    if (o.ok) return play.respond({ result: playResult(task_id, o) });
    switch (o.kind) {
      case 'execution':
        return play.respond({ error: rpcError(RpcErrorCode.ExecutionError, executionErrorData(task_id, o)) });
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
    this.logger.debug({ taskId, durationMs: Math.round(ms * 1000) / 1000, outcome }, 'play');
  }

  /** The socket is gone: release the drain counter for plays nobody will read. */
  release(): void {
    for (let i = 0; i < this.plays.size; i++) this.deps.inflight.finished();
    this.plays.clear();
    this.logins.clear();
  }
}
