import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics, in a registry of its own so several servers (tests,
 * embedding apps) never share or double-register series.
 */
export function createMetrics() {
  const registry = new Registry();
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
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
