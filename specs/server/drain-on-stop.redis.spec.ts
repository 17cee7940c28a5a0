import { CIRCLE, echo, gatewayOn, useWireEnv } from '../support/echo-gateway';
import { startFakeWorker } from '../support/fake-worker';
import { TEST_TRANSPORTS } from '../support/gateway';
import { RpcClient } from '../support/rpc-client';

/** Stopping the gateway: in-flight plays drain, then sessions close with 1001. */

const wire = useWireEnv();

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('WebSocket close on server stop', () => {
    it('closes sessions with 1001 after draining in-flight plays', async () => {
      const ns = wire.redis.namespace();
      const gw = await gateway(wire.redis.url, ns, {}, { verifier: wire.verifier });
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const fakeWorker = await startFakeWorker(wire.redis.url, ns, CIRCLE, async (t) => {
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
