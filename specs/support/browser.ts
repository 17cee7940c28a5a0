import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the specs look for Chromium: `CHROMIUM_PATH`, else Debian's package. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Whether Chromium can be started here, and if not, why and how to fix it. */
export function findChromium(): { ok: true; path: string } | { ok: false; reason: string } {
  try {
    fs.accessSync(CHROMIUM_PATH, fs.constants.X_OK);
    return { ok: true, path: CHROMIUM_PATH };
  } catch {
    return {
      ok: false,
      reason:
        `no Chromium executable at ${CHROMIUM_PATH}` +
        (process.env.CHROMIUM_PATH ? ' (from CHROMIUM_PATH)' : '') +
        ': install it with `apt-get install -y chromium` (as .ci/run does),' +
        ' or point CHROMIUM_PATH at a Chromium binary',
    };
  }
}

/**
 * Chromium for a browser spec file, found once: where it is missing the file's specs are
 * skipped with a warning naming `what` — except under CI=true, where a test that fails with
 * the reason is registered instead (CI never skips the browser specs).
 */
export function chromiumForSpecs(what: string): ReturnType<typeof findChromium> {
  const chromium = findChromium();
  if (!chromium.ok) {
    if (process.env.CI === 'true') {
      it('finds Chromium to drive (CI never skips the browser specs)', () => {
        throw new Error(chromium.reason);
      });
    } else {
      console.warn(`${what} skipped: ${chromium.reason}`);
    }
  }
  return chromium;
}

/** Headless Chromium from `path` (no sandbox: the specs run as root). */
export function launchChromium(path: string): Promise<Browser> {
  return chromium.launch({ executablePath: path, args: ['--no-sandbox'], timeout: 20_000 });
}

/**
 * The page's JSON-RPC client, written for the browser: its own `WebSocket`, named sessions kept
 * in the page, every wait bounded. `window.circles` is what the spec drives through `evaluate`;
 * the page signs through `window.signNonce`, which the spec exposes from Node.
 */
const PAGE_SCRIPT = String.raw`
const sessions = new Map();

function session(name) {
  const s = sessions.get(name);
  if (!s) throw new Error('no session ' + name);
  return s;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out after ' + ms + ' ms: ' + what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

window.circles = {
  open(name, url, ms = 5000) {
    const ws = new WebSocket(url);
    const s = { ws, next: 1, waiting: new Map(), close: null };
    s.closed = new Promise((resolve) =>
      ws.addEventListener('close', (e) => {
        s.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
        for (const w of s.waiting.values()) w.fail(new Error('closed ' + e.code));
        s.waiting.clear();
        resolve(s.close);
      }),
    );
    ws.addEventListener('message', (e) => {
      const msg = JSON.parse(e.data);
      for (const m of Array.isArray(msg) ? msg : [msg]) {
        const w = s.waiting.get(m.id);
        if (w) {
          s.waiting.delete(m.id);
          w.done(m);
        }
      }
    });
    sessions.set(name, s);
    return withTimeout(
      new Promise((resolve, reject) => {
        ws.addEventListener('open', () => resolve(undefined));
        ws.addEventListener('error', () => reject(new Error('WebSocket error opening ' + url)));
      }),
      ms,
      'open ' + url,
    );
  },

  /** Sends one request; resolves with the whole response object. */
  call(name, method, params, ms = 10000) {
    const s = session(name);
    const id = s.next++;
    const answer = new Promise((done, fail) => s.waiting.set(id, { done, fail }));
    s.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return withTimeout(answer, ms, method + ' #' + id);
  },

  /**
   * Sends every request before reading any answer (one task: no message event can run in
   * between), then resolves with the requests sent and the responses in arrival order.
   */
  async burst(name, requests, ms = 15000) {
    const s = session(name);
    const sent = [];
    const answers = [];
    for (const r of requests) {
      const id = s.next++;
      answers.push(new Promise((done, fail) => s.waiting.set(id, { done, fail })));
      sent.push({ jsonrpc: '2.0', id, method: r.method, params: r.params });
    }
    const arrived = [];
    for (const a of answers) a.then((m) => arrived.push(m), () => undefined);
    for (const m of sent) s.ws.send(JSON.stringify(m));
    await withTimeout(Promise.all(answers), ms, 'burst of ' + sent.length);
    return { sent, arrived };
  },

  /** fetch_nonce for pubkey, the signature from signNonce(nonce, signer), then authenticate. */
  async login(name, pubkey, signer, ms = 10000) {
    const nonce = await this.call(name, 'fetch_nonce', { pubkey }, ms);
    if (nonce.error) return { nonce };
    const signature = await window.signNonce(nonce.result.nonce, signer);
    const auth = await this.call(name, 'authenticate', [pubkey, signature], ms);
    return { nonce, signature, auth };
  },

  /** Resolves with the close event's code, reason and wasClean. */
  closed(name, ms = 5000) {
    return withTimeout(session(name).closed, ms, 'close of ' + name);
  },

  shut(name) {
    const s = sessions.get(name);
    if (s && s.ws.readyState <= 1) s.ws.close(1000);
  },
};
`;

const PAGE_HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>circles browser spec</title></head>
  <body>
    <p id="ready">circles browser spec</p>
    <script>${PAGE_SCRIPT}</script>
  </body>
</html>
`;

/** A loopback HTTP server for the page, so it has an http:// origin that may open ws:// sockets. */
export async function servePage(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE_HTML);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface PageResponse {
  id: number | string | null;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

/** Drives `window.circles` in `page`: each method is one `evaluate`, run by the browser. */
export class PageClient {
  constructor(readonly page: Page) {}

  open(name: string, url: string): Promise<void> {
    return this.page.evaluate(([n, u]) => (globalThis as any).circles.open(n, u), [name, url] as const);
  }

  call(name: string, method: string, params?: unknown): Promise<PageResponse> {
    return this.page.evaluate(({ n, m, p }) => (globalThis as any).circles.call(n, m, p), {
      n: name,
      m: method,
      p: params,
    });
  }

  burst(
    name: string,
    requests: { method: string; params?: unknown }[],
  ): Promise<{ sent: { id: number; method: string; params: unknown }[]; arrived: PageResponse[] }> {
    return this.page.evaluate(({ n, r }) => (globalThis as any).circles.burst(n, r), {
      n: name,
      r: requests,
    });
  }

  login(
    name: string,
    pubkey: string,
    signer: string,
  ): Promise<{ nonce: PageResponse; signature?: string; auth?: PageResponse }> {
    return this.page.evaluate(({ n, k, s }) => (globalThis as any).circles.login(n, k, s), {
      n: name,
      k: pubkey,
      s: signer,
    });
  }

  closed(name: string): Promise<{ code: number; reason: string; wasClean: boolean }> {
    return this.page.evaluate((n) => (globalThis as any).circles.closed(n), name);
  }

  shut(name: string): Promise<void> {
    return this.page.evaluate((n) => (globalThis as any).circles.shut(n), name);
  }
}
