import fs from 'node:fs';
import path from 'node:path';
import type { HttpAnswer } from './http-response';

/** Where `npm run build` puts the page: `dist/playground`, beside `dist/transport`. */
export const PLAYGROUND_DIR = path.resolve(__dirname, '..', 'playground');

/** Path prefix of the page's assets: no circle key (hex) can collide with it. */
export const ASSET_PREFIX = '/playground/';

/** The built files the server serves, with their content types. */
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export const MISSING_HINT = 'the playground page is not built: run `npm run build`\n';

/** Answers the page's paths (`/`, `/playground/*`); `undefined` for every other path. */
export type PlaygroundRoute = (
  path: string,
  headers: Readonly<Record<string, string>>,
) => HttpAnswer | undefined;

// A Host header we are willing to echo into a header: a name or an IP literal, and a port.
const SAFE_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Only our own origin: scripts, styles and images from the server, WebSockets to the same
 * host (`'self'` covers ws: only in CSP3 browsers, so the host is named too).
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The built files, read once (they are small), or null when any is missing. */
function readAssets(dir: string): Map<string, string> | null {
  const files = new Map<string, string>();
  for (const name of Object.keys(ASSETS)) {
    try {
      files.set(name, fs.readFileSync(path.join(dir, name), 'utf8'));
    } catch {
      return null;
    }
  }
  return files;
}

/**
 * The playground route over the files in `dir`, read now. When they are missing (running
 * from source without a build) the page's paths answer 503 with the hint; `built` says which.
 */
export function loadPlayground(dir = PLAYGROUND_DIR): { route: PlaygroundRoute; built: boolean } {
  const files = readAssets(dir);
  const common = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  const route: PlaygroundRoute = (p, headers) => {
    const name = p === '/' ? 'index.html' : p.startsWith(ASSET_PREFIX) ? p.slice(ASSET_PREFIX.length) : null;
    if (name === null) return undefined;
    if (!files) return { status: 503, body: MISSING_HINT, contentType: 'text/plain; charset=utf-8' };
    // the page itself only at `/`; its assets only under the prefix
    const body = name === 'index.html' && p !== '/' ? undefined : files.get(name);
    if (body === undefined)
      return { status: 404, body: 'not found\n', contentType: 'text/plain; charset=utf-8' };
    return {
      status: 200,
      body,
      contentType: ASSETS[name],
      headers:
        name === 'index.html'
          ? {
              ...common,
              'content-security-policy': contentSecurityPolicy(headers.host),
              'referrer-policy': 'no-referrer',
            }
          : common,
    };
  };
  return { route, built: files !== null };
}
