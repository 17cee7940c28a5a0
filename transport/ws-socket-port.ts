import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ClosablePort, type SocketPortHooks } from './socket-port';

/** Adapts one `ws` socket; the listener calls `markClosed()` from its close event. */
export class WsSocketPort extends ClosablePort {
  /** When the peer last sent anything (frame, ping or pong); the idle sweep reads it. */
  lastSeen = Date.now();
  pinged = false;

  constructor(
    readonly ws: WebSocket,
    private readonly raw: Duplex,
    private readonly maxBuffered: number,
    hooks: SocketPortHooks,
  ) {
    super(hooks);
  }

  send(text: string): void {
    if (this.isClosed) return;
    this.write(text);
  }

  /** Corks the TCP socket so several frames leave in one write. */
  sendAll(texts: readonly string[]): void {
    if (this.isClosed || texts.length === 0) return;
    this.raw.cork();
    try {
      for (const t of texts) if (!this.write(t)) return;
    } finally {
      this.raw.uncork();
    }
  }

  protected end(code: number, text: string): void {
    this.ws.close(code, text);
  }

  /** Drops the connection without a close handshake (idle peer, or one that never answers the close). */
  terminate(): void {
    this.isClosed = true;
    this.ws.terminate();
  }

  private write(text: string): boolean {
    this.ws.send(text);
    return this.ws.bufferedAmount <= this.maxBuffered || this.dropSlowReader();
  }
}
