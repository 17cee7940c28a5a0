import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addProcessMetrics, includeRegistry } from '../process-metrics';
import type { DispatchBackend, QueueStats } from '../queue/dispatch-backend';

/** How long a scrape waits for the queue statistics before leaving them out. */
const QUEUE_STATS_TIMEOUT_MS = 1000;

/**
 * The gateway's Prometheus metrics, in a registry of its own so several servers (tests,
 * embedding apps) never share or double-register series. Labels are bounded: outcomes and
 * reasons from fixed sets, circles only those the server is configured to serve, never
 * anything a caller chooses (their public keys included).
 */
export function createMetrics() {
  const registry = new Registry();
  addProcessMetrics(registry);

  /** What `watchQueues` gave: the backend to ask and the (configured) circles to ask about. */
  let queues: { backend: Pick<DispatchBackend, 'queueStats'>; circles: readonly string[] } | undefined;
  /** One backend call per scrape, shared by the two gauges that read it. */
  let scrape: Promise<Map<string, QueueStats> | undefined> | undefined;
  const queueStats = (): Promise<Map<string, QueueStats> | undefined> => {
    if (!queues || queues.circles.length === 0) return Promise.resolve(undefined);
    const { backend, circles } = queues;
    scrape ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          backend.queueStats(circles),
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), QUEUE_STATS_TIMEOUT_MS);
          }),
        ]);
      } catch {
        // the backend is down: /health says so; the series are left out of this scrape
        return undefined;
      } finally {
        clearTimeout(timer);
        scrape = undefined;
      }
    })();
    return scrape;
  };

  /** The server's own count of plays in flight (its drain counter), read at scrape time. */
  let playsInFlight: () => number = () => 0;
  /** The newcomer lane's length, read at scrape time. */
  let newcomersWaiting: () => number = () => 0;

  const transportInfo = new Gauge({
    name: 'circles_transport_info',
    help: 'The WebSocket transport this gateway runs on (1 for the one in use)',
    labelNames: ['transport'] as const,
    registers: [registry],
  });

  const m = {
    registry,
    connectionsOpen: new Gauge({
      name: 'circles_connections_open',
      help: 'Open WebSocket sessions',
      registers: [registry],
    }),
    connectionsTotal: new Counter({
      name: 'circles_connections_total',
      help: 'WebSocket sessions accepted',
      registers: [registry],
    }),
    upgradesRejected: new Counter({
      name: 'circles_upgrades_rejected_total',
      help: 'Upgrades refused before the handshake, by HTTP status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    socketsClosed: new Counter({
      name: 'circles_sockets_closed_total',
      help: 'Sessions the server closed, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    auth: new Counter({
      name: 'circles_auth_total',
      help: 'authenticate outcomes',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    plays: new Counter({
      name: 'circles_plays_total',
      help: 'play outcomes',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    playsInFlight: new Gauge({
      name: 'circles_plays_in_flight',
      help: 'Plays accepted and not yet answered, across all sessions',
      registers: [registry],
      collect() {
        this.set(playsInFlight());
      },
    }),
    newcomersWaiting: new Gauge({
      name: 'circles_newcomers_waiting',
      help: 'Upgrades and handshaking sessions waiting behind established sessions (the newcomer lane)',
      registers: [registry],
      collect() {
        this.set(newcomersWaiting());
      },
    }),
    playSeconds: new Histogram({
      name: 'circles_play_duration_seconds',
      help: 'Time from play request to its answer',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'circles_webhooks_total',
      help: 'Webhook deliveries by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'circles_queue_depth',
      help: 'Tasks queued for a served circle and not yet taken by a worker (read at scrape time)',
      labelNames: ['circle'] as const,
      registers: [registry],
      async collect() {
        const stats = await queueStats();
        this.reset();
        for (const [circle, s] of stats ?? []) this.set({ circle }, s.depth);
      },
    }),
    queueOldestAge: new Gauge({
      name: 'circles_queue_oldest_task_age_seconds',
      help: 'Age of the oldest task queued for a served circle, 0 when none waits (read at scrape time)',
      labelNames: ['circle'] as const,
      registers: [registry],
      async collect() {
        const stats = await queueStats();
        this.reset();
        for (const [circle, s] of stats ?? []) this.set({ circle }, s.oldestAgeSeconds);
      },
    }),
    /** Marks the transport the listener runs on (`circles_transport_info{transport} 1`). */
    setTransport(name: 'uws' | 'ws'): void {
      transportInfo.reset();
      transportInfo.set({ transport: name }, 1);
    },
    /** Reads `circles_plays_in_flight` from `count` (the server's drain counter) at each scrape. */
    watchPlaysInFlight(count: () => number): void {
      playsInFlight = count;
    },
    /** Reads `circles_newcomers_waiting` from `count` (the newcomer lane) at each scrape. */
    watchNewcomers(count: () => number): void {
      newcomersWaiting = count;
    },
    /**
     * Reports queue depth and oldest task age of `circles` at every scrape, from
     * `backend.queueStats`. Pass the circles the server is configured to serve; with none
     * (development mode: any key is served) no per-circle series is reported. Replaces an
     * earlier call.
     */
    watchQueues(backend: Pick<DispatchBackend, 'queueStats'>, circles: readonly string[]): void {
      queues = { backend, circles: [...new Set(circles)] };
    },
    /**
     * Serves the metrics of another registry (an in-process worker's) from this one too;
     * the process metrics both hold are reported once.
     */
    include(other: Registry): void {
      includeRegistry(registry, other);
    },
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
