import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getBytes, Wallet } from 'ethers';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildPlayground } from '../../playground/build';
import { MISSING_HINT } from '../../transport/playground-route';
import { chromiumForSpecs, launchChromium } from '../support/browser';
import { buildOnce, killAll, launch, type Run } from '../support/cli';
import { startRedis, type TestRedis } from '../support/redis-server';
import { until } from '../support/until';
import { REPO_ROOT } from '../support/repo-root';

// SPEC §7: the playground page, served by the server itself and driven in headless Chromium
// against a real launcher process (embedded backend), with real signatures.

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const UUID = /^[0-9a-f-]{36}$/;
const chromium = chromiumForSpecs('playground specs');

let dir = '';
/** The transpiled tree with the page built into it, as `npm run build` lays out dist/. */
let tree = '';
/** A launcher (default transport, `--auth`) shared by the serving specs and the wallet login. */
let shared: { run: Run; http: string } | undefined;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-playground-'));
  tree = buildOnce();
  await buildPlayground({
    sourceDir: path.join(REPO_ROOT, 'playground'),
    outDir: path.join(tree, 'playground'),
  });
  shared = await startLauncher(['-k', CIRCLE, '--auth']);
}, 40_000);

afterAll(async () => {
  if (shared) await stopped(shared.run);
  await killAll();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 20_000);

const dataDir = (): string => fs.mkdtempSync(path.join(dir, 'data-'));

/** A launcher on `port` (0: any); resolves with its http:// origin. */
async function startLauncher(
  args: string[],
  opts: { port?: number; data?: string; env?: NodeJS.ProcessEnv; tree?: string } = {},
): Promise<{ run: Run; http: string; port: number }> {
  const run = launch(
    'circles-launcher',
    ['--port', String(opts.port ?? 0), '--log-level', 'warn', '--data-dir', opts.data ?? dataDir(), ...args],
    opts.env,
    opts.tree,
  );
  const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000);
  return { run, http: url!.replace(/^ws/, 'http'), port: Number(new URL(url!).port) };
}

async function stopped(run: Run): Promise<void> {
  run.kill('SIGTERM');
  await run.exited;
}

const get = (url: string, method = 'GET'): Promise<Response> =>
  fetch(url, { method, signal: AbortSignal.timeout(5000) });

describe('serving the page', () => {
  let http = '';
  beforeAll(() => {
    http = shared!.http;
  });

  it('GET / is the page, with a CSP that allows only this server (and WebSockets to it); HEAD too', async () => {
    const head = await get(`${http}/`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-security-policy')).toBeTruthy();
    expect(await head.text()).toBe('');
    const res = await get(`${http}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('data-testid="history"');
    const csp = res.headers.get('content-security-policy') ?? '';
    const host = new URL(http).host;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).not.toMatch(/unsafe|\*/);
  });

  it.each([
    ['/playground/app.js', 'text/javascript; charset=utf-8'],
    ['/playground/app.css', 'text/css; charset=utf-8'],
  ])('%s is served as %s; HEAD too, without a body', async (p, type) => {
    const res = await get(`${http}${p}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect((await res.text()).length).toBeGreaterThan(1000);
    const head = await get(`${http}${p}`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(type);
    expect(await head.text()).toBe('');
  });

  it('an unknown asset is 404; circle paths and other routes answer as before', async () => {
    expect((await get(`${http}/playground/nope.js`)).status).toBe(404);
    expect((await get(`${http}/${CIRCLE}`)).status).toBe(426);
    expect((await get(`${http}/livez`)).status).toBe(200);
  });
});

describe('turning the page off, and a missing build', () => {
  /** What `GET /` answered before the playground: not a circle key. */
  const expectNoPage = async (http: string): Promise<void> => {
    const res = await get(`${http}/`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    expect((await get(`${http}/playground/app.js`)).status).toBe(400);
  };

  it('circles-launcher --no-playground: GET / answers as without a playground', async () => {
    const { run, http } = await startLauncher(['-k', CIRCLE, '--no-playground']);
    await expectNoPage(http);
    await stopped(run);
  }, 30_000);

  it.each([
    { setting: 'nothing', given: [], env: {}, value: true, source: 'default' },
    {
      setting: 'CIRCLES_PLAYGROUND=false',
      given: [],
      env: { CIRCLES_PLAYGROUND: 'false' },
      value: false,
      source: 'env:CIRCLES_PLAYGROUND',
    },
    {
      setting: '--no-playground over CIRCLES_PLAYGROUND=true',
      given: ['--no-playground'],
      env: { CIRCLES_PLAYGROUND: 'true' },
      value: false,
      source: 'cli',
    },
  ])(
    'circles-launcher given $setting: playground $value (from $source)',
    async ({ given, env, value, source }) => {
      const run = launch('circles-launcher', ['--print-config', ...given], env);
      expect(await run.exited).toBe(0);
      const config = JSON.parse(run.stdout());
      expect(config.playground).toBe(value);
      expect(config.sources.playground).toBe(source);
    },
    15_000,
  );

  it('without a build, the server starts and GET / answers 503 with the hint', async () => {
    // the same tree without the built page: running from source without `npm run build`
    const bare = path.join(dir, 'bare');
    fs.cpSync(tree, bare, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => path.relative(tree, src) !== 'playground',
    });
    const { run, http } = await startLauncher(['-k', CIRCLE], { tree: bare });
    const res = await get(`${http}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(MISSING_HINT);
    expect(MISSING_HINT).toContain('npm run build');
    expect(MISSING_HINT.trim().split('\n')).toHaveLength(1);
    expect((await get(`${http}/`, 'HEAD')).status).toBe(503);
    expect((await get(`${http}/livez`)).status).toBe(200);
    await stopped(run);
  }, 30_000);

  describe('circles-server: on in development mode or with --playground, else off', () => {
    let redis: TestRedis | undefined;
    beforeAll(async () => {
      redis = await startRedis();
    }, 15_000);
    afterAll(() => redis?.stop(), 10_000);

    it.each([
      { mode: 'development mode (no -k)', args: [], status: 200 },
      { mode: '-k', args: ['-k', CIRCLE], status: 400 },
      { mode: '-k --playground', args: ['-k', CIRCLE, '--playground'], status: 200 },
    ])(
      '$mode: GET / answers $status',
      async ({ args, status }) => {
        const run = launch('circles-server', [
          '--port',
          '0',
          '--log-level',
          'error',
          '--redis-url',
          redis!.url,
          ...args,
        ]);
        const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000);
        expect((await get(`${url!.replace(/^ws/, 'http')}/`)).status).toBe(status);
        await stopped(run);
      },
      30_000,
    );
  });
});

(chromium.ok ? describe : describe.skip)('the page in headless Chromium', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchChromium(chromium.ok ? chromium.path : '');
  }, 30_000);
  afterAll(() => browser?.close().catch(() => undefined), 10_000);

  /** A fresh context and page that records every request and any CSP violation. */
  async function openPage(url: string): Promise<{ page: Page; context: BrowserContext; requests: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addInitScript(() => {
      const page = globalThis as any;
      const seen: string[] = [];
      page.cspViolations = seen;
      page.document.addEventListener('securitypolicyviolation', (e: any) =>
        seen.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('websocket', (ws) => requests.push(ws.url()));
    await page.goto(url, { timeout: 10_000 });
    return { page, context, requests };
  }

  /**
   * Replaces the editor's text: select all and delete (CodeMirror's own commands), then insert
   * as a paste would. Inserting over a selection would let Chromium's editing wrap the text in
   * an inline-styled span, which the page's CSP (rightly) refuses.
   */
  async function setScript(page: Page, script: string): Promise<void> {
    const editor = page.getByTestId('script');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Backspace');
    await page.keyboard.insertText(script);
    let shown = '';
    await expect_(
      async () => {
        shown = (await editor.innerText()).replace(/\u00a0/g, ' ');
        return shown === script;
      },
      () => `the editor to hold ${JSON.stringify(script)} (it holds ${JSON.stringify(shown)})`,
    );
  }

  /** Waits (bounded) until `probe` holds; a page is polled every 50 ms. */
  async function expect_(
    probe: () => Promise<boolean>,
    what: string | (() => string) = 'the page to settle',
    ms = 8000,
  ): Promise<void> {
    await until(probe, what, ms, 50);
  }

  const text = (page: Page, id: string): Promise<string> => page.getByTestId(id).innerText();
  const waitText = async (page: Page, id: string, want: RegExp | string, ms = 10_000): Promise<string> => {
    let last = '';
    await expect_(
      async () => {
        last = await text(page, id);
        return typeof want === 'string' ? last === want : want.test(last);
      },
      () => `${id} to show ${String(want)} (last: ${JSON.stringify(last)})`,
      ms,
    );
    return last;
  };

  // On the `ws` transport: a uWebSockets.js listener cannot bind the port again while the
  // killed server's connections sit in TIME_WAIT (about a minute), so a restart on the same
  // port fails with "address in use" there (reported; not the page's business).
  describe('with a throw-away key, through a launcher restart', () => {
    let run: Run | undefined;
    let http = '';
    let port = 0;
    let data = '';
    let page: Page;
    let context: BrowserContext | undefined;
    let requests: string[] = [];

    beforeAll(async () => {
      data = dataDir();
      ({ run, http, port } = await startLauncher(['-k', CIRCLE, '--transport', 'ws'], { data }));
      ({ page, context, requests } = await openPage(`${http}/`));
    }, 30_000);
    afterAll(async () => {
      await context?.close().catch(() => undefined);
      if (run) await stopped(run);
    }, 15_000);

    it('picks the served circle (GET /circles) and connects', async () => {
      await waitText(page, 'connection', 'open');
      expect(await page.getByTestId('circle').inputValue()).toBe(CIRCLE);
    });

    it('logs in with a key kept in localStorage; identity shows its address', async () => {
      await page.getByTestId('login-key').click();
      const shown = await waitText(page, 'identity', /^0x[0-9a-fA-F]{40}$|^[0-9a-f]{66}$/);
      const key = await page.evaluate(() =>
        (globalThis as any).localStorage.getItem('circles-playground:key'),
      );
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      const wallet = new Wallet(`0x${key}`);
      expect(shown).toBe(wallet.address);
      expect(await text(page, 'identity-pubkey')).toBe(wallet.signingKey.compressedPublicKey.slice(2));
    });

    it('runs 40 + 2: 42 in output, one history entry with its task id', async () => {
      await setScript(page, '40 + 2');
      await page.getByTestId('run').click();
      await waitText(page, 'output', '42');
      const entries = page.getByTestId('history').locator('li');
      expect(await entries.count()).toBe(1);
      expect(await entries.first().locator('.task-id').innerText()).toMatch(UUID);
      expect(await entries.first().locator('.status').innerText()).toBe('ok');
      expect(await page.getByTestId('error').isHidden()).toBe(true);
    });

    it('a parse error on line 2 (run with Ctrl+Enter): kind and 2: in error, the editor marks line 2', async () => {
      await setScript(page, 'let a = 1;\nlet b = ;\na + b');
      await page.keyboard.press('Control+Enter');
      const error = await waitText(page, 'error', /:/);
      expect(error).toMatch(/^ErrorParsing at 2:\d+: /);
      expect(await page.getByTestId('output').innerText()).toBe('');
      const marked = page.locator('.cm-line.cm-error-line');
      expect(await marked.count()).toBe(1);
      expect(await marked.getAttribute('data-error-line')).toBe('2');
      expect(await marked.innerText()).toBe('let b = ;');
      expect(await page.locator('.cm-error-mark').count()).toBe(1);
      const first = page.getByTestId('history').locator('li').first();
      expect(await first.locator('.status').innerText()).toBe('error');
      expect(await first.locator('.task-id').innerText()).toMatch(UUID);
      // the next edit clears the mark: its position no longer holds
      await page.keyboard.type(' ');
      expect(await page.locator('.cm-error-line').count()).toBe(0);
    });

    it('shows what a script prints in logs', async () => {
      await setScript(page, 'print("first line");\nprint("second line");\n1');
      await page.getByTestId('run').click();
      await waitText(page, 'output', '1');
      expect(await text(page, 'logs')).toBe('first line\nsecond line');
    });

    it('browses the store: keys under a prefix with their values, from one play', async () => {
      await setScript(
        page,
        'store_set("fruit:apple", 3);\nstore_set("fruit:pear", #{ ripe: true });\nstore_set("veg", 1);\n"stored"',
      );
      await page.getByTestId('run').click();
      await waitText(page, 'output', 'stored');
      const before = await page.getByTestId('history').locator('li').count();
      await page.getByTestId('store-prefix').fill('fruit:');
      await page.getByTestId('store-list').click();
      const rows = page.getByTestId('store-entries').locator('tr');
      await expect_(async () => (await rows.count()) === 2, 'two store rows');
      expect(await rows.nth(0).innerText()).toBe('fruit:apple\t3');
      expect(await rows.nth(1).innerText()).toBe('fruit:pear\t{"ripe":true}');
      expect(await page.getByTestId('history').locator('li').count()).toBe(before + 1);
    });

    it('whoami says who is logged in', async () => {
      await page.getByTestId('whoami').click();
      const who = JSON.parse(await waitText(page, 'whoami-result', /authenticated/));
      expect(who).toMatchObject({ authenticated: true, circle: CIRCLE });
    });

    it('takes the screenshot the README shows (docs/playground.png)', async () => {
      await setScript(
        page,
        [
          '// Ctrl+Enter runs this script in the circle',
          'let visits = store_get("visits");',
          'if visits == () { visits = 0; }',
          'visits += 1;',
          'store_set("visits", visits);',
          'print(`visit number ${visits}`);',
          '`hello, circle (${visits} visits)`',
        ].join('\n'),
      );
      await page.getByTestId('run').click();
      await waitText(page, 'output', /^hello, circle/);
      await page.getByTestId('store-prefix').fill('');
      await page.getByTestId('store-list').click();
      await expect_(async () => (await page.getByTestId('store-entries').locator('tr').count()) >= 3);
      // A run leaves the tracked docs/playground.png alone unless asked to refresh it.
      const shot = process.env.CIRCLES_UPDATE_SCREENSHOT
        ? path.join(REPO_ROOT, 'docs', 'playground.png')
        : path.join(os.tmpdir(), `circles-playground-${process.pid}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
      if (!process.env.CIRCLES_UPDATE_SCREENSHOT) fs.rmSync(shot, { force: true });
    });

    it('reconnects after the launcher is killed and started again on the same port; the next run works', async () => {
      run!.kill('SIGKILL');
      await run!.exited;
      await waitText(page, 'connection', /reconnecting|connecting/);
      ({ run } = await startLauncher(['-k', CIRCLE, '--transport', 'ws'], { port, data }));
      await waitText(page, 'connection', 'open', 20_000);
      await setScript(page, 'store_get("visits") * 42');
      await page.getByTestId('run').click();
      await waitText(page, 'output', '42'); // the data dir kept visits = 1
      // the resume token logged the page in again without a new signature
      await page.getByTestId('whoami-result').evaluate((e) => (e.textContent = ''));
      await page.getByTestId('whoami').click();
      expect(JSON.parse(await waitText(page, 'whoami-result', /authenticated/))).toMatchObject({
        authenticated: true,
      });
    }, 40_000);

    it('made every request to its own server, and broke no CSP rule', async () => {
      const origin = new URL(http);
      expect(requests.length).toBeGreaterThanOrEqual(4); // page, script, style, /circles, sockets
      for (const url of requests) expect(new URL(url).host).toBe(origin.host);
      expect(requests.filter((u) => u.startsWith('ws:')).length).toBeGreaterThanOrEqual(2);
      expect(await page.evaluate(() => (globalThis as any).cspViolations)).toEqual([]);
    });
  });

  describe('with a browser wallet (EIP-1193)', () => {
    let context: BrowserContext | undefined;

    afterAll(() => context?.close().catch(() => undefined), 15_000);

    it('asks the wallet for exactly one personal_sign and shows its address', async () => {
      const http = shared!.http; // started with --auth
      const wallet = new Wallet(`0x${randomBytes(32).toString('hex')}`);
      const calls: string[] = [];
      context = await browser!.newContext();
      // the wallet lives in Node, as an extension lives outside the page
      await context.exposeFunction('walletRequest', async (method: string, params: unknown[]) => {
        calls.push(method);
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet.address];
        if (method === 'personal_sign') {
          const message = String(params[0]);
          // EIP-1193 wallets take the message as 0x-hex of its bytes (or as text)
          return wallet.signMessage(/^0x[0-9a-f]*$/i.test(message) ? getBytes(message) : message);
        }
        throw new Error(`unsupported method ${method}`);
      });
      await context.addInitScript(() => {
        const page = globalThis as any;
        page.ethereum = {
          request: ({ method, params }: { method: string; params?: unknown[] }) =>
            page.walletRequest(method, params ?? []),
        };
      });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${http}/?circle=${CIRCLE}`);
      await waitText(page, 'connection', 'open');
      await page.getByTestId('login-wallet').click();
      await waitText(page, 'identity', wallet.address);
      expect(calls.filter((m) => m === 'personal_sign')).toHaveLength(1);
      expect(await text(page, 'identity-pubkey')).toBe(wallet.signingKey.compressedPublicKey.slice(2));
      // --auth: the wallet's session may play
      await setScript(page, '6 * 7');
      await page.getByTestId('run').click();
      await waitText(page, 'output', '42');
    }, 30_000);
  });
});
