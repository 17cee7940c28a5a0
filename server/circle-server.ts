import { randomBytes } from 'node:crypto';
import { dispatch, spawn, stop as stopActor, type Ref } from 'nact';
import openrpcDocument from '../openrpc.json';
import { normalizePubkey } from '../auth/keys';
import { nativeSecp256k1 } from '../auth/native-secp256k1';
import { ResumeTokens } from '../auth/resume-token';
import { signatureLibrary } from '../auth/signature';
import { createVerifierPool, type SignatureVerifier } from '../auth/verify-pool';
import {
  playgroundEnabled,
  ServerOptionsSchema,
  type ServerOptions,
  type ServerOptionsInput,
} from './options';
import { createLogger, type Logger } from '../log';
import { markPlays } from '../play-trace';
import { createMetrics, type Metrics } from './metrics';
import type { DispatchBackend } from '../queue/dispatch-backend';
import { createRedisDispatch } from '../queue/redis-dispatch';
import { jsonAnswer, type HttpAnswer } from '../transport/http-response';
import type { CircleLookup, Listener, TransportName } from '../transport/listener';
import { startListener } from '../transport/start-listener';
import { loadPlayground } from '../transport/playground-route';
import { NewcomerLane } from '../transport/newcomer-lane';
import { resolveHandlerScripts } from '../webhooks/handler-scripts';
import { createWebhookHandler } from '../webhooks/http-handler';
import { IDENFY_PROVIDER, STRIPE_PROVIDER } from '../webhooks/providers';
import { spawnWebhookActor } from '../webhooks/webhook-actor';
import { spawnCircleWs } from '../actors/circle-ws';
import type { SessionConfig } from '../actors/session';
import { DrainCounter } from './drain-counter';
import { spawnScriptDispatcher, type DispatcherMsg } from '../actors/script-dispatcher';

/** An upgrade waiting longer than this behind established sessions is refused (503). */
const UPGRADE_MAX_WAIT_MS = 2_000;
/**
 * Newcomer work per event-loop turn while established sessions have frames ready: a
 * bystander's frame waits at most about this long for a login storm (bench (f)).
 */
const NEWCOMER_TURN_BUDGET_MS = 0.5;
/** ... and at most this many upgrades or newcomer frame batches (a login is three). */
const NEWCOMER_JOBS_PER_TURN = 16;

/** What the host gets back from `spawnCircleServer`. */
export interface CircleServerHandle {
  /** `ws://host:port` (or `wss://`). */
  readonly url: string;
  readonly port: number;
  /** Which WebSocket implementation serves (`uws` native, or `ws` where no binary loads). */
  readonly transport: TransportName;
  /** The shared ScriptDispatcher: host actors may send it `play` messages themselves. */
  readonly dispatcher: Ref<DispatcherMsg>;
  readonly backend: DispatchBackend;
  readonly metrics: Metrics;
  readonly options: ServerOptions;
  /** Readiness 503 for the lame-duck period, then stop accepting, drain plays (up to drainTimeoutMs), close sockets with 1001. Idempotent. */
  stop(): Promise<void>;
}

/** Collaborators a host may supply instead of the defaults. */
export interface CircleServerExtras {
  logger?: Logger;
  /** Task backend; default: Redis at `options.redisUrl`. */
  backend?: DispatchBackend;
  verifier?: SignatureVerifier;
  /** Unix seconds. */
  now?: () => number;
}

/**
 * Spawns a Circles gateway under `parent` (a nact system or actor the caller runs):
 * the listener, one ScriptDispatcher and one CircleWs actor per socket, all below one
 * `circle-server-*` actor so `stop()` removes them without touching the host's actors.
 */
export async function spawnCircleServer(
  parent: Ref<unknown>,
  input: ServerOptionsInput,
  extras: CircleServerExtras = {},
): Promise<CircleServerHandle> {
  const options = ServerOptionsSchema.parse(input);
  // Before anything starts: a handler that does not parse is a configuration error.
  const webhookScripts = resolveHandlerScripts(options);
  const logger = extras.logger ?? createLogger(options.logLevel, 'circles', options.logFormat);
  const metrics = createMetrics();
  const backend =
    extras.backend ?? createRedisDispatch({ url: options.redisUrl, logger: logger.child({ part: 'redis' }) });
  const verifier = extras.verifier ?? createVerifierPool(options.verifierThreads || undefined);
  const now = extras.now ?? (() => Math.floor(Date.now() / 1000));
  const resumeTokens = new ResumeTokens(options.sessionSecret, options.sessionTtlSeconds);
  const served = new Set(options.circles.map((c) => normalizePubkey(c) ?? c));
  const inflight = new DrainCounter();
  metrics.watchQueues(backend, [...served]); // no per-circle series in development mode
  metrics.watchPlaysInFlight(() => inflight.size);
  const newcomers = new NewcomerLane({
    maxWaitingUpgrades: options.maxHandshakes,
    maxWaitMs: UPGRADE_MAX_WAIT_MS,
    turnBudgetMs: NEWCOMER_TURN_BUDGET_MS,
    maxJobsPerTurn: NEWCOMER_JOBS_PER_TURN,
    onError: (err) => logger.error({ err }, 'newcomer work failed'),
  });
  metrics.watchNewcomers(() => newcomers.waiting);
  let draining = false;
  /** Set from the first moment of a stop: `/readyz` answers 503 through the lame-duck period. */
  let stopping = false;

  const root = spawn(
    parent as Ref<never>,
    (state: null) => state,
    `circle-server-${randomBytes(4).toString('hex')}`,
    {
      initialState: null,
      // A container for this server's actors, which handle their own faults; if one still
      // escalates here, keep the rest of the server (and the host's actors) running.
      onCrash: (_msg, err, ctx) => {
        logger.error({ err: err?.message }, 'circle-server actor fault; resuming');
        return ctx.resume;
      },
    },
  );
  const dispatcher = spawnScriptDispatcher(root, 'script-dispatcher', {
    backend,
    playTimeoutMs: options.playTimeoutMs,
    taskTtlSeconds: options.taskTtlSeconds,
    logger,
  });
  await backend.start((replies) => {
    markPlays(replies, (r) => r?.taskId, 'reply-read');
    dispatch(dispatcher, { type: 'replies', replies });
  });

  const lookupCircle = (segment: string): CircleLookup => {
    let text: string;
    try {
      text = decodeURIComponent(segment);
    } catch {
      return { ok: false, status: 400, error: 'path is not a secp256k1 public key' };
    }
    const circle = normalizePubkey(text);
    if (!circle) return { ok: false, status: 400, error: 'path is not a secp256k1 public key' };
    if (served.size > 0 && !served.has(circle))
      return { ok: false, status: 404, error: 'circle not served here' };
    return { ok: true, circle };
  };
  const webhookDeps = {
    dispatcher,
    backend,
    keys: backend.keys,
    now,
    logger: logger.child({ part: 'webhooks' }),
  };
  const webhook = createWebhookHandler({
    actors: {
      stripe: spawnWebhookActor(root, STRIPE_PROVIDER, {
        ...webhookDeps,
        secrets: options.stripeSecrets,
        toleranceSeconds: options.stripeToleranceSeconds,
        script: webhookScripts.stripe,
      }),
      idenfy: spawnWebhookActor(root, IDENFY_PROVIDER, {
        ...webhookDeps,
        secrets: options.idenfySecrets,
        script: webhookScripts.idenfy,
      }),
    },
    lookupCircle,
    timeoutMs: options.webhookTimeoutMs,
    metrics,
    logger,
  });
  const openrpcText = JSON.stringify(openrpcDocument);
  const playground = playgroundEnabled(options) ? loadPlayground() : undefined;
  // Every session's limits and collaborators, built once; a socket adds its port and circle.
  const sessionConfig: SessionConfig = {
    requireAuth: options.auth,
    maxInflight: options.maxInflight,
    maxBatch: options.maxBatch,
    maxVerifying: options.maxHandshakes,
    maxRequestsPerSecond: options.maxRequestsPerSecond,
    maxFailedAuth: options.maxFailedAuth,
    nonceTtlSeconds: options.nonceTtlSeconds,
    maxNonces: options.maxNoncesPerSession,
    dispatcher,
    verifier,
    resumeTokens,
    tasks: backend,
    metrics,
    logger,
    openrpc: openrpcDocument,
    now,
    draining: () => draining,
    inflight,
    newcomerWork: (run) => newcomers.work(run),
  };
  let sessionSeq = 0;

  let listener: Listener | undefined;
  try {
    listener = await startListener(
      {
        host: options.host,
        port: options.port,
        tls: options.tls,
        maxFrameBytes: options.maxFrameBytes,
        maxBackpressureBytes: options.maxBackpressureBytes,
        idleTimeoutSeconds: options.idleTimeoutSeconds,
        maxWebhookBodyBytes: options.maxWebhookBodyBytes,
        newcomers,
        lookupCircle,
        openSession: (port, circle) => spawnCircleWs(root, `ws-${++sessionSeq}`, sessionConfig, port, circle),
        health: async (): Promise<HttpAnswer> => {
          const h = await backend.health();
          return h.ok
            ? jsonAnswer(200, {
                status: 'ok',
                backend: backend.description,
                transport: listener?.transport,
                sessions: listener?.openSockets ?? 0,
              })
            : jsonAnswer(503, { status: 'unavailable', reason: h.reason });
        },
        readiness: async (): Promise<HttpAnswer> => {
          if (stopping) return jsonAnswer(503, { status: 'stopping' });
          const r = await backend.readiness([...served]);
          return r.ok
            ? jsonAnswer(200, { status: 'ready', transport: listener?.transport })
            : jsonAnswer(503, { status: 'not ready', reason: r.reason });
        },
        metricsText: () => metrics.registry.metrics(),
        openrpcText,
        circles: [...served],
        webhook,
        playground: playground?.route,
        metrics,
        logger,
      },
      options.transport,
    );
  } catch (err) {
    stopActor(root);
    await Promise.allSettled([backend.close(), extras.verifier ? Promise.resolve() : verifier.close()]);
    throw err;
  }
  metrics.setTransport(listener.transport);
  if (served.size === 0) logger.warn('development mode: no circles given, serving any valid circle key');
  if (playground && !playground.built)
    logger.warn('playground page not built (run `npm run build`): GET / answers 503');
  logger.info(
    {
      url: listener.url,
      transport: listener.transport,
      circles: [...served],
      auth: options.auth,
      backend: backend.description,
      webhooks: { stripe: options.stripeSecrets.length > 0, idenfy: options.idenfySecrets.length > 0 },
      signatures: signatureLibrary,
    },
    'gateway listening',
  );
  if (options.sessionSecret === undefined)
    logger.info(
      'no --session-secret: resume tokens are signed with a random per-process secret; they will not survive a restart or work on another server',
    );
  if (!nativeSecp256k1)
    logger.warn('libsecp256k1 binding did not load: verifying signatures with @noble/curves (≈ 30× slower)');

  let stopped: Promise<void> | undefined;
  const l = listener;
  return {
    url: l.url,
    port: l.port,
    transport: l.transport,
    dispatcher,
    backend,
    metrics,
    options,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (options.lameduckMs > 0) {
          logger.info({ ms: options.lameduckMs }, 'lame duck: not ready, still serving');
          await new Promise((r) => setTimeout(r, options.lameduckMs));
        }
        draining = true;
        l.stopAccepting();
        newcomers.close();
        const idle = await inflight.waitIdle(options.drainTimeoutMs);
        if (!idle)
          logger.warn({ inflight: inflight.size }, 'drain timeout: closing sessions with plays in flight');
        l.closeAll('shutdown');
        stopActor(root);
        await backend.close();
        if (!extras.verifier) await verifier.close();
        logger.info('gateway stopped');
      })();
      return stopped;
    },
  };
}
