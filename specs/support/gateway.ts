import { start, stop as stopSystem } from 'nact';
import {
  spawnCircleServer,
  type CircleServerExtras,
  type CircleServerHandle,
} from '../../server/circle-server';
import type { ServerOptionsInput } from '../../server/options';
import { silentLogger } from '../../log';
import { createRedisDispatch } from '../../queue/redis-dispatch';
import { loadNativeUws } from '../../transport/uws';

/**
 * The transports gateway suites run on: both where uWebSockets.js's native binary loads for
 * this Node, else `ws` alone (said once, so a skipped half is never silent).
 */
export const TEST_TRANSPORTS: readonly ('uws' | 'ws')[] = (() => {
  const native = loadNativeUws();
  if (native.ok) return ['uws', 'ws'] as const;
  console.warn(`uws transport specs skipped: ${native.reason}`);
  return ['ws'] as const;
})();

export interface TestGateway {
  readonly server: CircleServerHandle;
  readonly url: string;
  readonly http: string;
  readonly namespace: string;
  stop(): Promise<void>;
}

/** A real gateway on a free loopback port, against a real Redis, with its own key namespace. */
export async function startGateway(
  redisUrl: string,
  namespace: string,
  options: Partial<ServerOptionsInput> = {},
  extras: CircleServerExtras = {},
): Promise<TestGateway> {
  const system = start();
  const logger = silentLogger();
  const backend = extras.backend ?? createRedisDispatch({ url: redisUrl, namespace, logger });
  const server = await spawnCircleServer(
    system,
    { port: 0, redisUrl, logLevel: 'silent', drainTimeoutMs: 2000, ...options },
    { logger, backend, ...extras },
  );
  return {
    server,
    url: server.url,
    http: server.url.replace(/^ws/, 'http'),
    namespace,
    async stop() {
      await server.stop();
      stopSystem(system);
    },
  };
}
