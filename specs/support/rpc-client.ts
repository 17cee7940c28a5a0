import WebSocket from 'ws';
import { until } from './until';

/*
 * Why the specs keep a client of their own rather than the users' `CirclesClient`
 * (`client/`): the specs test the server's wire behaviour, so they must send what a user
 * client never would (unknown methods, malformed params, raw text and binary frames,
 * batches) and see exactly what came back — every frame in order (`received`), close codes
 * and reasons (`closed`), the socket itself (`ws`: pause it, terminate it). `CirclesClient`
 * is built to hide all of that: typed methods only, frames matched to calls and the rest
 * dropped, reconnects and re-logins of its own. It has its own spec
 * (specs/client/circles-client.proc.spec.ts). This is the specs' one JSON-RPC client;
 * `support/browser.ts` runs one inside the page.
 */

/** A JSON-RPC client over a real WebSocket (the `ws` library), for specs. */
export class RpcClient {
  private nextId = 1;
  private readonly waiting = new Map<unknown, (msg: RpcMessage) => void>();
  /** Every frame received, parsed, in order. */
  readonly received: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as RpcMessage | RpcMessage[];
      this.received.push(msg);
      for (const m of Array.isArray(msg) ? msg : [msg]) {
        const w = this.waiting.get(m.id);
        if (w) {
          this.waiting.delete(m.id);
          w(m);
        }
      }
    });
  }

  static connect(url: string): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new RpcClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Sends one request and resolves with its whole response object. */
  request(method: string, params?: unknown, timeoutMs = 10_000): Promise<RpcMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${method} #${id}`)), timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Resolves with the result, or rejects with the JSON-RPC error object. */
  async call<T = any>(method: string, params?: unknown): Promise<T> {
    const m = await this.request(method, params);
    if (m.error) throw Object.assign(new Error(m.error.message), m.error);
    return m.result as T;
  }

  /** Sends raw text and resolves with the next frame received. */
  async sendRaw(text: string | Buffer, timeoutMs = 5000): Promise<unknown> {
    const before = this.received.length;
    this.ws.send(text);
    // boxed: a frame may be `false` or `null`, which the wait would not count as an answer
    const next = await until(
      () => (this.received.length > before ? { frame: this.received[before] } : undefined),
      'a frame in answer',
      timeoutMs,
      2,
    );
    return next.frame;
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
    return this.closed;
  }
}

export interface RpcMessage {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: any;
  error?: { code: number; message: string; data?: any };
}
