/** What the bench's main thread asks a load-generator thread to do, and what comes back. */

interface Timed {
  /** Sent but not recorded: lets JIT, connection buffers and server caches settle. */
  warmupMs: number;
  /** Measurement window; every loop also stops at `maxRequests`, whichever comes first. */
  durationMs: number;
  maxRequests: number;
  /** Wait this long after `go` before starting (bystanders joining a running storm). */
  startDelayMs?: number;
  /** Run this generator thread at this nice value, so it yields the core to others (storms). */
  nice?: number;
  /**
   * Run this generator thread under SCHED_FIFO (Linux, root or CAP_SYS_NICE; ignored where
   * refused), so that a measuring client is never queued behind load threads on its core.
   */
  realtime?: boolean;
}

/** Closed-loop pipelined JSON-RPC: each connection keeps `depth` requests in flight. */
export interface RpcTask extends Timed {
  mode: 'rpc';
  port: number;
  path: string;
  conns: number;
  depth: number;
  /** A request is `prefix + id + suffix`; ids are integers so responses match without parsing. */
  prefix: string;
  suffix: string;
}

/** Fresh session per login: connect, fetch_nonce, sign, authenticate, close; `parallel` loops. */
export interface AuthTask extends Timed {
  mode: 'auth';
  port: number;
  path: string;
  parallel: number;
}

/** Opens and authenticates `sessions` sockets, reports, then holds them until `go`. */
export interface IdleTask {
  mode: 'idle';
  port: number;
  path: string;
  sessions: number;
  parallel: number;
  timeoutMs: number;
}

/** Raw Redis queue round trip: LPUSH task ids, a consumer process replies, batched BLMPOP reads. */
export interface RedisTask extends Timed {
  mode: 'redis';
  redisUrl: string;
  queue: string;
  replyQueue: string;
  inflight: number;
  popBatch: number;
}

export type LoadTask = RpcTask | AuthTask | IdleTask | RedisTask;

export interface LoadResult {
  /** Completed operations inside the measurement window. */
  count: number;
  errors: number;
  /** Measured window actually spent (ms). */
  elapsedMs: number;
  /** Latency histogram counts (µs buckets), see histogram.ts. */
  hist: number[];
  /** Event-loop utilisation of this thread during the run (0..1). */
  elu: number;
  /** CPU this thread spent inside the measured window, ms (absent where /proc is not). */
  cpuMs?: number;
  /** idle mode: sessions authenticated and held. */
  opened?: number;
  note?: string;
}

export type FromWorker =
  | { type: 'ready'; opened?: number; failed?: number }
  | { type: 'done'; result: LoadResult }
  | { type: 'error'; message: string };

export type ToWorker = { type: 'go' };
