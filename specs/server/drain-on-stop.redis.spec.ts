import { createVerifierPool } from '../../auth/verify-pool';
import { CIRCLE, echo, gatewayOn } from '../support/echo-gateway';
import { startFakeWorker } from '../support/fake-worker';
import { TEST_TRANSPORTS } from '../support/gateway';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';

/** Stopping the gateway: in-flight plays drain, then sessions close with 1001. */

let redis: TestRedis;
const verifier = createVerifierPool(2);
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await verifier.close();
  await redis.stop();
});

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('WebSocket close on server stop', () => {
    it('closes sessions with 1001 after draining in-flight plays', async () => {
      const ns = redis.namespace();
      const gw = await gateway(redis.url, ns, {}, { verifier });
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const fakeWorker = await startFakeWorker(redis.url, ns, CIRCLE, async (t) => {
        await gate;
        return echo(t);
      });
      const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      const inflight = c.call('play', ['slow']);
      await new Promise((r) => setTimeout(r, 100));
      const stopping = gw.stop();
      await expect(RpcClient.connect(`${gw.url}/${CIRCLE}`)).rejects.toBeDefined();
      release();
      expect((await inflight).output).toContain('ran slow');
      expect((await c.closed).code).toBe(1001);
      await stopping;
      await fakeWorker.stop();
    });
  });
});
