import { createVerifierPool } from '../../auth/verify-pool';
import {
  CIRCLE,
  echo,
  gatewayOn,
  login,
  randomWallet,
  useEchoGateway,
  useWireEnv,
} from '../support/echo-gateway';
import { FakeClock } from '../support/fake-clock';
import { startFakeWorker } from '../support/fake-worker';
import { TEST_TRANSPORTS } from '../support/gateway';
import { RpcClient } from '../support/rpc-client';

/** fetch_nonce and authenticate over the wire, --auth, and signature checks off the event loop. */

const wire = useWireEnv();

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway = gatewayOn(transport);

  describe('gateway over loopback', () => {
    const clock = new FakeClock(1_800_000_000);
    const served = useEchoGateway(gateway, wire, clock);

    describe('authentication', () => {
      it('fetch_nonce → authenticate with an ethers signature → play as that key', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const wallet = randomWallet();
        const pk = wallet.signingKey.compressedPublicKey.slice(2);
        const nonce = await c.call('fetch_nonce', [wallet.signingKey.publicKey]); // uncompressed works too
        expect(nonce.nonce).toMatch(/^nonce_1800000000_[0-9a-f]{32,}$/);
        expect(nonce.expires_at).toBe(clock.now + 300);
        expect(
          await c.call('authenticate', {
            credentials: { pubkey: pk, signature: await wallet.signMessage(nonce.nonce) },
          }),
        ).toMatchObject({
          authenticated: true,
        });
        expect(await c.call('whoami')).toEqual({
          authenticated: true,
          pubkey: pk,
          address: wallet.address,
          circle: CIRCLE,
        });
        const played = await c.call('play', { script: 'hello()' });
        expect(played.output).toBe(`ran hello() as ${pk} in ${CIRCLE}`);
        const task = served.fakeWorker.seen.find((t) => t.taskId === played.task_id)!;
        expect(task).toMatchObject({ script: 'hello()', callerId: pk, contextId: CIRCLE, status: 'pending' });
        expect(task.replyToQueue).toMatch(new RegExp(`^${served.gw.namespace}rhailib:reply:`));
        expect(Date.parse(task.createdAt!)).not.toBeNaN();
        await c.close();
      });

      it('accepts all four authenticate param forms and 64-byte signatures', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const forms = [
          (s: string) => ({ pubkey: pk, signature: s }),
          (s: string) => ({ credentials: { pubkey: pk, signature: s } }),
          (s: string) => [pk, s],
          (s: string) => [{ pubkey: pk, signature: s.slice(0, 130) }], // r‖s only
        ];
        for (const form of forms) {
          const { nonce } = await c.call('fetch_nonce', { pubkey: pk });
          expect(await c.call('authenticate', form(await w.signMessage(nonce)))).toMatchObject({
            authenticated: true,
          });
        }
        await c.close();
      });

      const expectCode = async (p: Promise<unknown>, code: number): Promise<void> => {
        await expect(p).rejects.toMatchObject({ code });
      };

      it('a nonce is single use', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await c.call('fetch_nonce', [pk]);
        const sig = await w.signMessage(nonce);
        await c.call('authenticate', [pk, sig]);
        await expectCode(c.call('authenticate', [pk, sig]), -32002);
        await c.close();
      });

      it('a nonce from another session is refused', async () => {
        const a = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const b = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await a.call('fetch_nonce', [pk]);
        await expectCode(b.call('authenticate', [pk, await w.signMessage(nonce)]), -32002);
        // and the session that fetched it can still use it
        expect(await a.call('authenticate', [pk, await w.signMessage(nonce)])).toMatchObject({
          authenticated: true,
        });
        await Promise.all([a.close(), b.close()]);
      });

      it('an expired nonce is refused', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await c.call('fetch_nonce', [pk]);
        clock.now += 301;
        await expectCode(c.call('authenticate', [pk, await w.signMessage(nonce)]), -32002);
        await c.close();
      });

      it('a signature by another key, or for another pubkey, is refused and consumes the nonce', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const mallory = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await c.call('fetch_nonce', [pk]);
        await expectCode(c.call('authenticate', [pk, await mallory.signMessage(nonce)]), -32002);
        await expectCode(c.call('authenticate', [pk, await w.signMessage(nonce)]), -32002); // consumed by the failure
        const fresh = await c.call('fetch_nonce', [pk]);
        await expectCode(
          c.call('authenticate', [mallory.signingKey.compressedPublicKey, await w.signMessage(fresh.nonce)]),
          -32002,
        );
        await c.close();
      });

      it('malformed keys and signatures are -32602 naming the field', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        await expect(c.call('fetch_nonce', ['nope'])).rejects.toMatchObject({
          code: -32602,
          data: { issues: [{ path: 'pubkey' }] },
        });
        await expect(c.call('authenticate', [CIRCLE, 'xyz'])).rejects.toMatchObject({
          code: -32602,
          data: { issues: [{ path: 'signature' }] },
        });
        await c.close();
      });

      it('closes the session with 1008 after 5 failed attempts', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const badSig = await w.signMessage('not the nonce');
        for (let i = 0; i < 4; i++) {
          await c.call('fetch_nonce', [pk]);
          await expectCode(c.call('authenticate', [pk, badSig]), -32002);
        }
        await c.call('fetch_nonce', [pk]);
        await expectCode(c.call('authenticate', [pk, badSig]), -32002);
        expect((await c.closed).code).toBe(1008);
      });

      it('keeps at most 8 nonces per session (oldest dropped)', async () => {
        const c = await RpcClient.connect(`${served.gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const nonces: string[] = [];
        for (let i = 0; i < 9; i++) nonces.push((await c.call('fetch_nonce', [pk])).nonce);
        // the newest works; afterwards the oldest is gone (dropped when the 9th was issued)
        expect(await c.call('authenticate', [pk, await w.signMessage(nonces[8]!)])).toMatchObject({
          authenticated: true,
        });
        await expectCode(c.call('authenticate', [pk, await w.signMessage(nonces[0]!)]), -32002);
        await c.close();
      });
    });
  });

  describe('gateway with --auth', () => {
    it('refuses play before authentication with -32001, then runs it', async () => {
      const ns = wire.redis.namespace();
      const gw = await gateway(wire.redis.url, ns, { auth: true }, { verifier: wire.verifier });
      const fakeWorker = await startFakeWorker(wire.redis.url, ns, CIRCLE, echo);
      const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      await expect(c.call('play', ['x'])).rejects.toMatchObject({
        code: -32001,
        message: 'Authentication Required',
      });
      const w = randomWallet();
      await login(c, w);
      expect((await c.call('play', ['x'])).output).toBe(
        `ran x as ${w.signingKey.compressedPublicKey.slice(2)} in ${CIRCLE}`,
      );
      await c.close();
      await fakeWorker.stop();
      await gw.stop();
    });
  });

  describe('authentication stays off the event loop', () => {
    it("a burst of logins does not stall another session's whoami", async () => {
      // the slow reference implementation (≈ 1.5 ms per recovery) makes the burst heavy enough
      // that verifying on the event loop would visibly stall the bystander
      const slowVerifier = createVerifierPool(2, 'reference');
      const gw = await gateway(wire.redis.url, wire.redis.namespace(), {}, { verifier: slowVerifier });
      const bystander = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      // a session keeps at most 8 nonces, so 4 logins per storm session
      const stormers = await Promise.all(
        Array.from({ length: 50 }, () => RpcClient.connect(`${gw.url}/${CIRCLE}`)),
      );
      const wallets = Array.from({ length: 200 }, () => randomWallet());
      // nonces first, signed on the client side, so the burst itself is pure verification
      const signed = await Promise.all(
        wallets.map(async (w, i) => {
          const c = stormers[i % stormers.length]!;
          const { nonce } = await c.call('fetch_nonce', [w.signingKey.compressedPublicKey]);
          return { c, pk: w.signingKey.compressedPublicKey, sig: await w.signMessage(nonce) };
        }),
      );
      const started = performance.now();
      let stormDone = false;
      const storm = Promise.all(signed.map((s) => s.c.call('authenticate', [s.pk, s.sig]))).then((r) => {
        stormDone = true;
        return r;
      });
      const latencies: number[] = [];
      while (!stormDone && latencies.length < 10_000) {
        const t = performance.now();
        await bystander.call('whoami');
        latencies.push(performance.now() - t);
      }
      const results = await storm;
      const stormMs = performance.now() - started;
      expect(results.every((r) => r.authenticated === true)).toBe(true);
      // 200 recoveries cost ≈ 300 ms of CPU; on the event loop one whoami would wait for
      // them all. Off the loop, the bystander keeps getting answers throughout the storm.
      expect(latencies.length).toBeGreaterThan(5);
      const p99 = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)]!;
      expect(p99).toBeLessThan(stormMs / 3);
      await Promise.all([bystander, ...stormers].map((c) => c.close()));
      await gw.stop();
      await slowVerifier.close();
    });
  });
});
