import WebSocket from 'ws';
import { personalSign, publicKeyOf } from './sign';

/** A JSON-RPC error answered by the server. */
export class CirclesRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/**
 * A small Circles client for Node: one WebSocket to one circle, requests matched to
 * responses by id, and `authenticate` doing the nonce round trip with a private key.
 */
export class CirclesClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let msg: { id?: number; result?: unknown; error?: { code: number; message: string; data?: unknown } };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      const w = msg.id === undefined ? undefined : this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id!);
      if (msg.error) w.reject(new CirclesRpcError(msg.error.code, msg.error.message, msg.error.data));
      else w.resolve(msg.result);
    });
    ws.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('connection closed'));
      this.waiting.clear();
    });
  }

  /** Connects to `ws(s)://host:port/<circle_pk>`. */
  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<CirclesClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve(new CirclesClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`server answered HTTP ${res.statusCode}`)),
      );
    });
  }

  call<T = unknown>(method: string, params?: unknown, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** fetch_nonce → personal_sign → authenticate; resolves with the authenticated public key. */
  async authenticate(privateKeyHex: string): Promise<string> {
    const pubkey = publicKeyOf(privateKeyHex);
    const { nonce } = await this.call<{ nonce: string }>('fetch_nonce', { pubkey });
    await this.call('authenticate', { pubkey, signature: personalSign(nonce, privateKeyHex) });
    return pubkey;
  }

  play(script: string): Promise<{ output: string; task_id: string }> {
    return this.call('play', { script });
  }

  close(): void {
    this.ws.close();
  }
}
