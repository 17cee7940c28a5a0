import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** `/readyz`'s answer: ready, or why not. */
export type WorkerReadiness = { ok: true } | { ok: false; reason: string };

export interface WorkerHttpOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Promise<WorkerReadiness>;
}

/** The worker's operational HTTP endpoint. */
export interface WorkerHttp {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

/** How long `/readyz` waits for the readiness check (a Redis round trip) before answering 503. */
const READINESS_TIMEOUT_MS = 1500;

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const json = (status: number, value: unknown): Answer => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(value),
});

/**
 * Serves `GET`/`HEAD` of `/metrics` (Prometheus text), `/livez` (200 while the process runs)
 * and `/readyz` (200 once the worker takes tasks and its backend answers, else 503 with the
 * reason as JSON), on plain `node:http`. Starts listening before it resolves; rejects with a
 * one-line reason when the address cannot be bound.
 */
export async function startWorkerHttp(options: WorkerHttpOptions): Promise<WorkerHttp> {
  const answer = async (path: string): Promise<Answer> => {
    switch (path) {
      case '/livez':
        return json(200, { status: 'ok' });
      case '/readyz': {
        const ready = await withTimeout(options.readiness(), READINESS_TIMEOUT_MS);
        return ready.ok
          ? json(200, { status: 'ready' })
          : json(503, { status: 'unavailable', reason: ready.reason });
      }
      case '/metrics':
        return {
          status: 200,
          contentType: options.registry.contentType,
          body: await options.registry.metrics(),
        };
      default:
        return json(404, { error: 'not found' });
    }
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (a: Answer): void => {
      const body = Buffer.from(a.body, 'utf8');
      res.writeHead(a.status, {
        'content-type': a.contentType,
        'content-length': body.length,
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(json(405, { error: 'method not allowed' }));
    }
    answer(path).then(send, (err: unknown) =>
      send(json(500, { error: err instanceof Error ? err.message : String(err) })),
    );
  });
  // Probes and scrapes are short; do not let an idle keep-alive connection hold a stop.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void =>
      reject(
        new Error(`cannot serve metrics on ${options.host}:${options.port}: ${err.code ?? err.message}`),
      );
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function withTimeout(check: Promise<WorkerReadiness>, ms: number): Promise<WorkerReadiness> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check,
      new Promise<WorkerReadiness>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, reason: 'readiness check timed out' }), ms);
      }),
    ]);
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
