import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CloseCode, type SocketPort, type SocketPortHooks } from './socket-port';

/** Adapts one `ws` socket; the listener calls `markClosed()` from its close event. */
export class WsSocketPort implements SocketPort {
  private isClosed = false;
  /** When the peer last sent anything (frame, ping or pong); the idle sweep reads it. */
  lastSeen = Date.now();
  pinged = false;

  constructor(
    readonly ws: WebSocket,
    private readonly raw: Duplex,
    private readonly maxBuffered: number,
    private readonly hooks: SocketPortHooks,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  closeCode?: number;
  closeReason?: string;

  /** Called from the transport's close event with what the close frame said. */
  markClosed(code?: number, reason?: string): void {
    this.isClosed = true;
    this.closeCode ??= code;
    this.closeReason ??= reason;
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

  close(code: number, reason = ''): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.close(code, reason);
  }

  /** Drops the connection without a close handshake (idle peer, or one that never answers the close). */
  terminate(): void {
    this.isClosed = true;
    this.ws.terminate();
  }

  /** A peer whose unsent output passes the limit does not read: we let it go (as uWS does). */
  private write(text: string): boolean {
    this.ws.send(text);
    if (this.ws.bufferedAmount <= this.maxBuffered) return true;
    this.hooks.onBackpressure();
    this.close(CloseCode.TryAgainLater, 'slow reader: send buffer full');
    return false;
  }
}
