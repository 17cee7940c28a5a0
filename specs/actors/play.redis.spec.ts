import { createClient } from 'redis';
import { keyBuilder } from '../../queue/keys';
import { CIRCLE, gatewayOn, useEchoGateway, useWireEnv } from '../support/echo-gateway';
import { FakeClock } from '../support/fake-clock';
import { TEST_TRANSPORTS } from '../support/gateway';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';

/** play over the wire: errors, timeouts, in-flight and rate limits, many sockets, batches. */

const wire = useWireEnv();

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('gateway over loopback', () => {
    const clock = new FakeClock(1_800_000_000);
    const served = useEchoGateway(gateway, wire, clock);

    describe('play', () => {
      it('reports script errors as -32000 with the task id and engine message', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const r = await c.request('play', ['fail: x']);
        expect(r.error).toMatchObject({
          code: -32000,
          message: 'Execution Error',
          data: { error: expect.stringContaining('boom') },
        });
        expect(r.error!.data.task_id).toMatch(/^[0-9a-f-]{36}$/);
        await c.close();
      });

      it('is anonymous without authentication (no --auth)', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        expect((await c.call('play', ['x'])).output).toBe(`ran x as anonymous in ${CIRCLE}`);
        await c.close();
      });

      it('times out with -32003 and the task id; the task stays queued', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const r = await c.request('play', ['hang']);
        expect(r.error).toMatchObject({ code: -32003, data: { task_id: expect.any(String) } });
        const client = createClient({ url: wire.redis.url });
        await client.connect();
        const hash = await client.hGetAll(keyBuilder(served.gw.namespace).task(r.error!.data.task_id));
        expect(hash.script).toBe('hang');
        expect(await client.ttl(keyBuilder(served.gw.namespace).task(r.error!.data.task_id))).toBeGreaterThan(
          60,
        );
        client.destroy();
        await c.close();
      });

      it('refuses more than --max-inflight plays with -32005', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const hanging = [1, 2, 3, 4].map(() => c.request('play', ['hang']));
        await expect(c.call('play', ['one too many'])).rejects.toMatchObject({ code: -32005 });
        expect((await c.call('whoami')).authenticated).toBe(false); // other methods still answer
        await Promise.all(hanging);
        await c.close();
      });

      it('limits the request rate per session with -32005 when --max-rate is set', async () => {
        const limited = await gateway(
          wire.redis.url,
          served.gw.namespace,
          { maxRequestsPerSecond: 20 },
          { verifier: wire.verifier },
        );
        const c = await RpcClient.connect(`${limited.url}/${CIRCLE}`);
        const other = await RpcClient.connect(`${limited.url}/${CIRCLE}`);
        const burst = (await c.sendRaw(
          JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'whoami' }))),
        )) as { error?: { code: number } }[];
        const refused = burst.filter((r) => r.error?.code === -32005).length;
        expect(burst.length - refused).toBeGreaterThanOrEqual(20);
        expect(burst.length - refused).toBeLessThanOrEqual(22);
        // the bucket is per session, and refills
        expect((await other.call('whoami')).circle).toBe(CIRCLE);
        await until(
          async () => (await c.request('whoami')).result !== undefined,
          'the bucket to refill',
          3000,
          20,
        );
        await Promise.all([c.close(), other.close()]);
        await limited.stop();
      });

      it('answers 100 sockets × 20 pipelined plays each with their own results', async () => {
        const wide = await gateway(
          wire.redis.url,
          served.gw.namespace,
          { circles: [CIRCLE], maxInflight: 64 },
          { verifier: wire.verifier },
        );
        const clients = await Promise.all(
          Array.from({ length: 100 }, () => RpcClient.connect(`${wide.url}/${CIRCLE}`)),
        );
        const results = await Promise.all(
          clients.map((c, ci) =>
            Promise.all(
              Array.from({ length: 20 }, (_, i) => c.call('play', [`s${ci}-${i}`]).then((r) => r.output)),
            ),
          ),
        );
        results.forEach((outs, ci) =>
          outs.forEach((out, i) => expect(out).toBe(`ran s${ci}-${i} as anonymous in ${CIRCLE}`)),
        );
        await Promise.all(clients.map((c) => c.close()));
        await wide.stop();
      });

      it('answers a batch of plays and whoami as one array', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const reply = await c.sendRaw(
          JSON.stringify([
            { jsonrpc: '2.0', id: 'p1', method: 'play', params: ['b1'] },
            { jsonrpc: '2.0', id: 'w', method: 'whoami' },
            { jsonrpc: '2.0', method: 'play', params: ['notified'] },
            { jsonrpc: '2.0', id: 'p2', method: 'play', params: { script: 'b2' } },
          ]),
        );
        expect(reply).toEqual([
          {
            jsonrpc: '2.0',
            id: 'p1',
            result: { output: `ran b1 as anonymous in ${CIRCLE}`, task_id: expect.any(String) },
          },
          { jsonrpc: '2.0', id: 'w', result: expect.objectContaining({ authenticated: false }) },
          {
            jsonrpc: '2.0',
            id: 'p2',
            result: { output: `ran b2 as anonymous in ${CIRCLE}`, task_id: expect.any(String) },
          },
        ]);
        await c.close();
      });
    });
  });
});
