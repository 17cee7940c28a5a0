import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import { createVerifierPool, type SignatureVerifier } from '../../auth/verify-pool';
import type { FakeClock } from './fake-clock';
import { startFakeWorker, type Answer, type FakeWorker } from './fake-worker';
import { startGateway, type TestGateway } from './gateway';
import { startRedis, type TestRedis } from './redis-server';
import type { RpcClient } from './rpc-client';

/*
 * What the gateway-over-the-wire specs share (they were one file once): a real gateway per
 * transport, serving two circles, with a fake worker that echoes what it was asked to run.
 */

export const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
export const OTHER_CIRCLE = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';

/** ethers' createRandom derives an HD wallet (slow); a bare random key is all we need. */
export const randomWallet = (): Wallet => new Wallet(`0x${randomBytes(32).toString('hex')}`);

/** Echo worker: output names the script, caller and circle; `fail:` scripts error; `hang` never answers. */
export const echo = (t: Record<string, string>): Answer =>
  t.script === 'hang'
    ? { status: 'none' }
    : t.script!.startsWith('fail:')
      ? { status: 'error', error: `boom (line 1, position 1): ${t.script}` }
      : { status: 'completed', output: `ran ${t.script} as ${t.callerId} in ${t.contextId}` };

/** fetch_nonce, the wallet's signature of it, authenticate. */
export async function login(
  client: RpcClient,
  wallet: Wallet | ReturnType<typeof Wallet.createRandom>,
): Promise<unknown> {
  const { nonce } = await client.call('fetch_nonce', { pubkey: wallet.signingKey.compressedPublicKey });
  return client.call('authenticate', [
    wallet.signingKey.compressedPublicKey,
    await wallet.signMessage(nonce),
  ]);
}

/** `startGateway` on one transport: the specs run once per entry of TEST_TRANSPORTS. */
export function gatewayOn(transport: 'uws' | 'ws'): typeof startGateway {
  return (url, ns, options = {}, extras = {}) => startGateway(url, ns, { transport, ...options }, extras);
}

/**
 * The gateway over loopback the wire specs share within a transport: CIRCLE and OTHER_CIRCLE,
 * plays time out after 1.5 s, at most 4 in flight per session, time read from `clock`; the
 * fake echo worker serves CIRCLE (OTHER_CIRCLE has none).
 */
export async function startEchoGateway(
  gateway: typeof startGateway,
  redis: TestRedis,
  verifier: SignatureVerifier,
  clock: FakeClock,
): Promise<{ gw: TestGateway; fakeWorker: FakeWorker }> {
  const ns = redis.namespace();
  const gw = await gateway(
    redis.url,
    ns,
    { circles: [CIRCLE, OTHER_CIRCLE], playTimeoutMs: 1500, maxInflight: 4 },
    { verifier, now: clock.read },
  );
  const fakeWorker = await startFakeWorker(redis.url, ns, CIRCLE, echo);
  return { gw, fakeWorker };
}

/** What a wire spec file shares: one Redis server and one verifier pool, for all its suites. */
export interface WireEnv {
  readonly redis: TestRedis;
  readonly verifier: SignatureVerifier & { close(): Promise<void> };
}

/** Starts a WireEnv before the file's suites and stops it after them. */
export function useWireEnv(): WireEnv {
  const env = { redis: undefined as unknown as TestRedis, verifier: createVerifierPool(2) };
  beforeAll(async () => {
    env.redis = await startRedis();
  });
  afterAll(async () => {
    await env.verifier.close();
    await env.redis?.stop();
  });
  return env;
}

/** The shared echo gateway of one describe (see startEchoGateway): started before its tests, stopped after. */
export function useEchoGateway(
  gateway: typeof startGateway,
  env: WireEnv,
  clock: FakeClock,
): { readonly gw: TestGateway; readonly fakeWorker: FakeWorker } {
  const served = {} as { gw: TestGateway; fakeWorker: FakeWorker };
  beforeAll(async () => {
    Object.assign(served, await startEchoGateway(gateway, env.redis, env.verifier, clock));
  });
  afterAll(async () => {
    await served.fakeWorker?.stop();
    await served.gw?.stop();
  });
  return served;
}
