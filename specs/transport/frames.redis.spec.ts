import { randomBytes } from 'node:crypto';
import { CIRCLE, gatewayOn, login, randomWallet, useEchoGateway, useWireEnv } from '../support/echo-gateway';
import { FakeClock } from '../support/fake-clock';
import { TEST_TRANSPORTS } from '../support/gateway';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';

/** What the transports do with frames: close codes, limits, backpressure, idle peers, garbage. */

const wire = useWireEnv();

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('gateway over loopback', () => {
    const clock = new FakeClock(1_800_000_000);
    const served = useEchoGateway(gateway, wire, clock);

    describe('frames', () => {
      it('closes 1003 on a binary frame', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
        expect((await c.closed).code).toBe(1003);
      });

      it('closes 1009 on a frame over --max-frame', async () => {
        const small = await gateway(
          wire.redis.url,
          served.gw.namespace,
          { maxFrameBytes: 1024 },
          { verifier: wire.verifier },
        );
        const c = await RpcClient.connect(`${small.url}/${CIRCLE}`);
        c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'play', params: ['x'.repeat(1500)] }));
        expect((await c.closed).code).toBe(1009);
        // far over the limit: cut before it is buffered (1006 or 1009, never a crash)
        const big = await RpcClient.connect(`${small.url}/${CIRCLE}`);
        big.ws.send('x'.repeat(100_000));
        expect([1006, 1009]).toContain((await big.closed).code);
        // the server is fine afterwards
        const d = await RpcClient.connect(`${small.url}/${CIRCLE}`);
        expect((await d.call('whoami')).circle).toBe(CIRCLE);
        await d.close();
        await small.stop();
      });

      it('closes a reader that stops reading once its send buffer is full, and counts it', async () => {
        const tight = await gateway(
          wire.redis.url,
          served.gw.namespace,
          { maxBackpressureBytes: 64 * 1024 },
          { verifier: wire.verifier },
        );
        const c = await RpcClient.connect(`${tight.url}/${CIRCLE}`);
        const socket = (c.ws as unknown as { _socket: { pause(): void } })._socket;
        socket.pause(); // the peer stops reading; the server's answers pile up
        const ask = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' });
        // bursts of 100 requests (each answer is ~5 KB) until the server gives up on the socket
        await until(
          async () => {
            for (let j = 0; j < 100; j++) c.ws.send(ask);
            const text = await (await fetch(`${tight.http}/metrics`)).text();
            return /circles_sockets_closed_total\{reason="backpressure"\} 1/.test(text);
          },
          'the backpressure close',
          15_000,
          5,
        );
        // other sessions are unaffected
        const d = await RpcClient.connect(`${tight.url}/${CIRCLE}`);
        expect((await d.call('whoami')).circle).toBe(CIRCLE);
        await d.close();
        c.ws.terminate();
        await tight.stop();
      });

      it('drops a peer that stops answering pings after the idle timeout', async () => {
        const idle = await gateway(
          wire.redis.url,
          served.gw.namespace,
          { idleTimeoutSeconds: 8 },
          { verifier: wire.verifier },
        );
        const alive = await RpcClient.connect(`${idle.url}/${CIRCLE}`); // answers pings (ws does)
        const dead = await RpcClient.connect(`${idle.url}/${CIRCLE}`);
        (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
        let gauge = '';
        await until(
          async () => {
            const text = await (await fetch(`${idle.http}/metrics`)).text();
            gauge = text.match(/circles_connections_open (\d+)/)![1]!;
            return gauge === '1';
          },
          () => `one connection open (last: ${gauge})`,
          25_000,
          250,
        );
        expect((await alive.call('whoami')).circle).toBe(CIRCLE);
        await alive.close();
        dead.ws.terminate();
        await idle.stop();
      }, 40_000);

      it('counts plays and connections in /metrics', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        await login(c, randomWallet());
        await c.call('play', ['counted']);
        const text = await (await fetch(`${served.gw.http}/metrics`)).text();
        expect(text).toMatch(/circles_plays_total\{outcome="completed"\} [1-9]/);
        expect(text).toMatch(/circles_play_duration_seconds_count [1-9]/);
        expect(text).toMatch(/circles_auth_total\{outcome="success"\} [1-9]/);
        expect(text).toMatch(/circles_connections_open [1-9]/);
        await c.close();
      });

      it('answers garbage with -32700 and keeps the session', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        expect(await c.sendRaw('{"jsonrpc": "2.0", "method": ')).toMatchObject({
          id: null,
          error: { code: -32700 },
        });
        expect(await c.sendRaw('\u0000\uffff')).toMatchObject({ error: { code: -32700 } });
        expect((await c.call('whoami')).circle).toBe(CIRCLE);
        await c.close();
      });

      it('survives hostile frames: random bytes, deep nesting, huge batches, odd params', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const seed = randomBytes(4).readUInt32LE(0);
        let x = seed || 1;
        const rand = (n: number): number => {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          return (x >>> 0) % n;
        };
        const pieces = [
          '{',
          '}',
          '[',
          ']',
          '"',
          ':',
          ',',
          'null',
          '1e999',
          '-0',
          '"jsonrpc"',
          '"2.0"',
          '"method"',
          '"id"',
          '"params"',
          '"play"',
          '"whoami"',
          '\\u0000',
          '\u{1F600}',
          ' ',
        ];
        const frames: string[] = [
          '['.repeat(100_000) + ']'.repeat(100_000),
          `[${Array.from({ length: 2000 }, (_, i) => `{"jsonrpc":"2.0","id":"b${i}","method":"whoami"}`).join(',')}]`,
          '{"jsonrpc":"2.0","id":"h1","method":"play","params":{"script":{"__proto__":{"x":1}}}}',
          '{"jsonrpc":"2.0","id":"h2","method":"authenticate","params":{"constructor":{"prototype":1}}}',
          '{"jsonrpc":"2.0","id":"h3","method":"__proto__"}',
          '{"jsonrpc":"2.0","id":"h4","method":"fetch_nonce","params":["' + 'f'.repeat(500_000) + '"]}',
        ];
        for (let i = 0; i < 300; i++)
          frames.push(Array.from({ length: 1 + rand(40) }, () => pieces[rand(pieces.length)]).join(''));
        for (const f of frames) c.ws.send(f);
        // (string ids above: numeric ones would be taken for the client's own next request ids)
        // every frame is answered or ignored without a crash, and the session still works afterwards
        expect((await c.call('whoami')).circle).toBe(CIRCLE);
        expect(c.ws.readyState).toBe(c.ws.OPEN);
        const d = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        expect((await d.call('whoami')).circle).toBe(CIRCLE);
        await Promise.all([c.close(), d.close()]);
      }, 30_000);

      it('rpc.discover returns the OpenRPC document', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const doc = await c.call('rpc.discover');
        expect(doc.methods.map((m: { name: string }) => m.name)).toContain('rpc.discover');
        await c.close();
      });
    });
  });
});
