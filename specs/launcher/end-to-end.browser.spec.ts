import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import type { Browser, BrowserContext } from 'playwright-core';
import Stripe from 'stripe';
import { chromiumForSpecs, launchChromium, PageClient, servePage } from '../support/browser';
import { buildOnce, killAll, launch, type Run } from '../support/cli';
import { TEST_TRANSPORTS } from '../support/gateway';
import { until } from '../support/until';

// Issue 11's "done when": a real browser (headless Chromium, its own WebSocket) logs in with a
// wallet signature and plays against the real launcher process, on every transport.

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const STRIPE_SECRET = 'whsec_browser_spec';
const chromium = chromiumForSpecs('browser specs');

const wallet = (): Wallet => new Wallet(`0x${randomBytes(32).toString('hex')}`);
const pubkeyOf = (w: Wallet): string => w.signingKey.compressedPublicKey.slice(2);

(chromium.ok ? describe : describe.skip)('a real browser (headless Chromium) and circles-launcher', () => {
  let dir = '';
  let browser: Browser | undefined;
  let pageServer: Awaited<ReturnType<typeof servePage>> | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-browser-'));
    buildOnce();
    pageServer = await servePage();
    browser = await launchChromium(chromium.ok ? chromium.path : '');
  }, 30_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await pageServer?.close();
    await killAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  describe.each(TEST_TRANSPORTS)('over the %s transport', (transport) => {
    const user = wallet();
    const stranger = wallet();
    const pk = pubkeyOf(user);
    let run: Run | undefined;
    let url = '';
    let context: BrowserContext | undefined;
    let client: PageClient;

    beforeAll(async () => {
      run = launch(
        'circles-launcher',
        [
          '--port',
          '0',
          '--log-level',
          'warn',
          '--data-dir',
          fs.mkdtempSync(path.join(dir, `data-${transport}-`)),
          '--auth',
          '--transport',
          transport,
          '-k',
          CIRCLE,
        ],
        { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET },
      );
      url = (await run.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000))[1]!;
      context = await browser!.newContext();
      // The browser has no wallet: the page asks Node to sign, as it would ask an extension.
      await context.exposeFunction('signNonce', (nonce: string, signer: string) =>
        (signer === 'user' ? user : stranger).signMessage(nonce),
      );
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(pageServer!.url, { timeout: 10_000 });
      client = new PageClient(page);
      await client.open('main', `${url}/${CIRCLE}`);
    }, 30_000);

    afterAll(async () => {
      await context?.close().catch(() => undefined);
      run?.kill('SIGKILL');
      await run?.exited;
    }, 10_000);

    it(`the launcher serves on ${transport}`, async () => {
      const health = await fetch(`${url.replace(/^ws/, 'http')}/health`, {
        signal: AbortSignal.timeout(5000),
      });
      expect(await health.json()).toMatchObject({ transport });
    });

    it('refuses play before login (--auth): -32001', async () => {
      const r = await client.call('main', 'play', { script: '1' });
      expect(r.error).toMatchObject({ code: -32001, message: 'Authentication Required' });
    });

    it('logs in from the page: fetch_nonce, a personal_sign signature, authenticate; whoami says who', async () => {
      const { nonce, signature, auth } = await client.login('main', pk, 'user');
      expect(nonce.result.nonce).toMatch(/^nonce_\d+_[0-9a-f]{32,}$/);
      expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
      expect(auth?.error).toBeUndefined();
      expect(auth?.result).toMatchObject({ authenticated: true });
      const who = await client.call('main', 'whoami');
      expect(who.result).toMatchObject({ authenticated: true, pubkey: pk, circle: CIRCLE });
    });

    it('plays a script that uses the circle store', async () => {
      const r = await client.call('main', 'play', { script: 'store_set("n", 40); store_get("n") + 2' });
      expect(r.error).toBeUndefined();
      expect(r.result.output).toBe('42');
      expect(r.result.task_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('gets a failing script as -32000 with the engine message', async () => {
      const r = await client.call('main', 'play', ['throw "broken in the browser"']);
      expect(r.result).toBeUndefined();
      expect(r.error).toMatchObject({ code: -32000, message: 'Execution Error' });
      expect(r.error!.data.error).toContain('broken in the browser');
    });

    it('pipelines 50 plays and matches every answer to its request by id', async () => {
      const requests = Array.from({ length: 50 }, (_, i) => ({
        method: 'play',
        params: { script: `let i = ${i}; i * 3` },
      }));
      const { sent, arrived } = await client.burst('main', requests);
      expect(sent).toHaveLength(50);
      expect(arrived).toHaveLength(50);
      const byId = new Map(arrived.map((m) => [m.id, m]));
      expect(byId.size).toBe(50);
      for (const [i, req] of sent.entries()) {
        const answer = byId.get(req.id);
        expect(answer?.error).toBeUndefined();
        expect(answer?.result.output).toBe(String(i * 3));
      }
    });

    it('reads what the default Stripe handler stored from a signed webhook', async () => {
      const id = `evt_${randomBytes(6).toString('hex')}`;
      const body = JSON.stringify({
        id,
        object: 'event',
        type: 'checkout.session.completed',
        created: Math.floor(Date.now() / 1000),
        data: { object: { object: 'checkout.session', amount_total: 4200 } },
      });
      const header = new Stripe('sk_test_x').webhooks.generateTestHeaderString({
        payload: body,
        secret: STRIPE_SECRET,
      });
      const res = await fetch(`${url.replace(/^ws/, 'http')}/webhooks/stripe/${CIRCLE}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': header },
        body,
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status).toBe(200);
      // the default handler runs as a task; poll from the browser until it has stored the event
      const probe = `let e = store_get("stripe:${id}"); if e == () { "" } else { e.type + " " + e.data.object.amount_total }`;
      const seen = await until(
        async () => {
          const r = await client.call('main', 'play', [probe]);
          expect(r.error).toBeUndefined();
          return r.result.output === '' ? undefined : (r.result.output as string);
        },
        'the handler to store the event',
        8000,
        50,
      );
      expect(seen).toBe('checkout.session.completed 4200');
    });

    it('sees close code 1008 after 5 bad signatures', async () => {
      await client.open('intruder', `${url}/${CIRCLE}`);
      // signed by another key than the one claimed: each authenticate fails with -32002
      for (let attempt = 1; attempt <= 4; attempt++) {
        const { nonce, auth } = await client.login('intruder', pk, 'stranger');
        expect(nonce.error).toBeUndefined();
        expect(auth?.error).toMatchObject({ code: -32002, message: 'Invalid Credentials' });
      }
      // the fifth failure closes the socket (its answer may or may not arrive first)
      await client.login('intruder', pk, 'stranger').then(
        ({ auth }) => expect(auth?.error).toMatchObject({ code: -32002 }),
        (e: Error) => expect(e.message).toMatch(/closed 1008/),
      );
      expect(await client.closed('intruder')).toMatchObject({ code: 1008 });
      // the other session of the same page is untouched
      const r = await client.call('main', 'whoami');
      expect(r.result).toMatchObject({ authenticated: true, pubkey: pk });
    });

    it('sees close code 1001 when the launcher stops; the launcher exits 0', async () => {
      run!.kill('SIGTERM');
      expect(await client.closed('main')).toMatchObject({ code: 1001 });
      expect(await run!.exited).toBe(0);
    });
  });
});
