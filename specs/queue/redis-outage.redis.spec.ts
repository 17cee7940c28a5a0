import { createVerifierPool } from '../../auth/verify-pool';
import { CIRCLE, echo, gatewayOn } from '../support/echo-gateway';
import { startFakeWorker } from '../support/fake-worker';
import { TEST_TRANSPORTS } from '../support/gateway';
import { startRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';

/** The gateway while its Redis is down and after it is back (a redis-server of the test's own). */

const verifier = createVerifierPool(2);
afterAll(() => verifier.close());

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('Redis outage', () => {
    it('answers -32004 and /health 503 while Redis is down, and recovers by itself', async () => {
      const own = await startRedis();
      const ns = own.namespace();
      const gw = await gateway(own.url, ns, {}, { verifier });
      let fakeWorker = await startFakeWorker(own.url, ns, CIRCLE, echo);
      const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      expect((await c.call('play', ['before'])).output).toContain('ran before');
      await fakeWorker.stop();
      await own.stop();
      const t = performance.now();
      await expect(c.call('play', ['during'])).rejects.toMatchObject({ code: -32004 });
      expect(performance.now() - t).toBeLessThan(1000); // at once, not after a timeout
      expect((await fetch(`${gw.http}/health`)).status).toBe(503);
      await own.start();
      fakeWorker = await startFakeWorker(own.url, ns, CIRCLE, echo);
      const output = await until(
        () =>
          c.call('play', ['after']).then(
            (r) => (r.output as string) || undefined,
            () => undefined,
          ),
        'a play to succeed after the restart',
        10_000,
        100,
      );
      expect(output).toContain('ran after');
      expect((await fetch(`${gw.http}/health`)).status).toBe(200);
      await c.close();
      await fakeWorker.stop();
      await gw.stop();
      await own.stop();
    });
  });
});
