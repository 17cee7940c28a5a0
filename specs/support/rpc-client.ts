import WebSocket from 'ws';

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
  sendRaw(text: string | Buffer, timeoutMs = 5000): Promise<unknown> {
    const before = this.received.length;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        if (this.received.length > before) return resolve(this.received[before]);
        if (Date.now() - started > timeoutMs) return reject(new Error('no frame received'));
        setTimeout(poll, 2);
      };
      this.ws.send(text);
      poll();
    });
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
