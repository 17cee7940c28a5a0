import { z } from 'zod';
import { SHARED_DEFAULTS } from '../shared-defaults';
import { MIN_SESSION_SECRET_LENGTH } from '../auth/resume-token';
import { LOG_FORMATS, LOG_LEVELS } from '../log';
import { STRIPE_DEFAULT_TOLERANCE_SECONDS } from '../webhooks/stripe-signature';

/** WebSocket transports: `auto` = uWebSockets.js when its native binary loads, else `ws`. */
export const TRANSPORTS = ['auto', 'uws', 'ws'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/**
 * Every limit and setting of the gateway in one schema: defaults, validation and the type.
 * Command-line flags and library callers only feed it.
 */
export const ServerOptionsSchema = z
  .object({
    host: z.string().min(1).default(SHARED_DEFAULTS.host),
    port: z.number().int().min(0).max(65535).default(8443),
    /** Canonical circle keys this server serves; empty = any valid key (development mode). */
    circles: z.array(z.string()).default([]),
    /** `play` requires an authenticated session. */
    auth: z.boolean().default(false),
    tls: z.object({ cert: z.string(), key: z.string() }).optional(),
    redisUrl: z.string().url().default(SHARED_DEFAULTS.redisUrl),
    playTimeoutMs: z.number().int().positive().default(SHARED_DEFAULTS.playTimeoutMs),
    /** How long a finished task hash outlives the play timeout (SPEC §4). */
    taskTtlSeconds: z.number().int().positive().default(SHARED_DEFAULTS.taskTtlSeconds),
    maxFrameBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    maxInflight: z.number().int().positive().default(64),
    /** Requests per second one session may make (token bucket, one second of burst); 0 = no limit. */
    maxRequestsPerSecond: z.number().int().min(0).default(0),
    /** A socket whose unsent output exceeds this is closed (slow reader). */
    maxBackpressureBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    /** Seconds without traffic before uWS drops a peer; pings go out automatically before. */
    idleTimeoutSeconds: z.number().int().min(8).max(960).default(120),
    nonceTtlSeconds: z.number().int().positive().default(300),
    maxNoncesPerSession: z.number().int().positive().default(8),
    maxFailedAuth: z.number().int().positive().default(5),
    /** Lifetime of a resume token (SPEC §3.8); at most 31 days, a bearer credential should end. */
    sessionTtlSeconds: z
      .number()
      .int()
      .positive()
      .max(31 * 24 * 3600)
      .default(3600),
    /**
     * HMAC key of resume tokens; servers behind one load balancer share it. Absent: random per
     * process (tokens die with it and work nowhere else).
     */
    sessionSecret: z
      .string()
      .min(MIN_SESSION_SECRET_LENGTH, `must be at least ${MIN_SESSION_SECRET_LENGTH} characters`)
      .optional(),
    maxWebhookBodyBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** Webhook signing secrets (several: rotation); none = that provider answers 503. */
    stripeSecrets: z.array(z.string().min(1)).default([]),
    idenfySecrets: z.array(z.string().min(1)).default([]),
    /** Allowed |now - t| of a Stripe signature, seconds. */
    stripeToleranceSeconds: z.number().int().min(0).default(STRIPE_DEFAULT_TOLERANCE_SECONDS),
    /** Rhai source run for each event; absent = the built-in handler (webhooks/default-handlers). */
    stripeHandler: z.string().min(1).optional(),
    idenfyHandler: z.string().min(1).optional(),
    /** Longest a delivery may take to be verified and queued before it answers 503. */
    webhookTimeoutMs: z.number().int().positive().default(10_000),
    drainTimeoutMs: z.number().int().min(0).default(SHARED_DEFAULTS.drainTimeoutMs),
    /**
     * On a stop signal, how long to keep serving while `/readyz` answers 503 (so a load
     * balancer takes the instance out) before the drain starts; 0 = drain at once.
     */
    lameduckMs: z.number().int().min(0).default(0),
    /** Most requests one JSON-RPC batch may hold. */
    maxBatch: z.number().int().min(1).max(100_000).default(1000),
    /**
     * Upgrades waiting to be served, and logins being verified, each at most this many at
     * once; beyond, an upgrade is refused 503 and an authenticate -32005 (storm admission).
     */
    maxHandshakes: z.number().int().min(1).max(1_000_000).default(1024),
    transport: z.enum(TRANSPORTS).default('auto'),
    /** Signature verification threads (0 = one per CPU). */
    verifierThreads: z.number().int().min(0).default(0),
    logLevel: z.enum(LOG_LEVELS).default(SHARED_DEFAULTS.logLevel),
    logFormat: z.enum(LOG_FORMATS).default(SHARED_DEFAULTS.logFormat),
    /** Serve the playground page on `GET /` (SPEC §7); absent = only in development mode. */
    playground: z.boolean().optional(),
  })
  .strict();

export type ServerOptions = z.output<typeof ServerOptionsSchema>;
export type ServerOptionsInput = z.input<typeof ServerOptionsSchema>;

/** Whether the playground is served: as asked, else in development mode (no circles given). */
export const playgroundEnabled = (o: Pick<ServerOptions, 'playground' | 'circles'>): boolean =>
  o.playground ?? o.circles.length === 0;
