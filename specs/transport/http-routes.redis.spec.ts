import { CIRCLE, gatewayOn, randomWallet, useEchoGateway, useWireEnv } from '../support/echo-gateway';
import { FakeClock } from '../support/fake-clock';
import { TEST_TRANSPORTS } from '../support/gateway';
import { RpcClient } from '../support/rpc-client';

/** The gateway's HTTP routes over loopback: health, contract, metrics, and circle paths. */

const wire = useWireEnv();

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('gateway over loopback', () => {
    const clock = new FakeClock(1_800_000_000);
    const served = useEchoGateway(gateway, wire, clock);

    describe('HTTP routes', () => {
      it('GET /health answers 200 with the backend', async () => {
        const r = await fetch(`${served.gw.http}/health`);
        expect(r.status).toBe(200);
        expect(await r.json()).toMatchObject({ status: 'ok' });
      });

      it('GET /openrpc.json serves the contract', async () => {
        const r = await fetch(`${served.gw.http}/openrpc.json`);
        expect(r.status).toBe(200);
        expect(((await r.json()) as { openrpc: string }).openrpc).toBe('1.2.6');
      });

      it('GET /metrics is Prometheus text', async () => {
        const r = await fetch(`${served.gw.http}/metrics`);
        expect(r.headers.get('content-type')).toContain('text/plain');
        expect(await r.text()).toContain('circles_connections_open');
      });

      it.each([
        ['not-a-key', 400],
        ['%E0%A4%A', 400], // malformed percent-encoding must not throw inside uWS
        [`05${CIRCLE.slice(2)}`, 400],
        [`02${'f'.repeat(64)}`, 400],
        ['0289e9e3a38b23b8b2e2cc3a70b7c1c9bd1e1c8c17e0a1e3e7c9e2a1f3b5d7c9e1', 400],
        [randomWallet().signingKey.compressedPublicKey.slice(2), 404],
        [CIRCLE, 426],
        [`0x${CIRCLE.toUpperCase()}`, 426],
      ])('plain GET /%s → %d', async (path, status) => {
        const r = await fetch(`${served.gw.http}/${path}`);
        if (status === 400 && r.status === 404) throw new Error(`${path} is a valid key; fix the fixture`);
        expect(r.status).toBe(status);
        expect(await r.json()).toHaveProperty('error');
      });

      it.each([
        ['not-a-key', 400],
        ['%E0%A4%A', 400],
        [randomWallet().signingKey.compressedPublicKey, 404],
      ])('upgrade to /%s is refused with %d before the handshake', async (path, status) => {
        await expect(RpcClient.connect(`${served.gw.url}/${path}`)).rejects.toThrow(`HTTP ${status}`);
      });

      it('accepts uncompressed and 0x keys for the same circle', async () => {
        const uncompressed =
          '0x044f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa385b6b1b8ead809ca67454d9683fcf2ba03456d6fe2c4abe2b07f0fbdbb2f1c1';
        const c = await RpcClient.connect(`${served.gw.url}/${uncompressed}`);
        expect((await c.call('whoami')).circle).toBe(CIRCLE);
        await c.close();
      });
    });
  });
});
