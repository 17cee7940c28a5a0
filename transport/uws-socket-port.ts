import type { WebSocket } from 'uWebSockets.js';
import { ClosablePort, type SocketPortHooks } from './socket-port';

/** Adapts one uWS socket; the listener calls `markClosed()` from uWS's close handler. */
export class UwsSocketPort<T> extends ClosablePort {
  constructor(
    private readonly ws: WebSocket<T>,
    private readonly maxBuffered: number,
    hooks: SocketPortHooks,
  ) {
    super(hooks);
  }

  send(text: string): void {
    if (this.isClosed) return;
    this.ws.cork(() => this.write(text));
  }

  sendAll(texts: readonly string[]): void {
    if (this.isClosed || texts.length === 0) return;
    this.ws.cork(() => {
      for (const t of texts) if (!this.write(t)) return;
    });
  }

  protected end(code: number, text: string): void {
    this.ws.end(code, text);
  }

  /** 2 = dropped by uWS (over maxBackpressure). */
  private write(text: string): boolean {
    const status = this.ws.send(text, false);
    if (status !== 2 && this.ws.getBufferedAmount() <= this.maxBuffered) return true;
    return this.dropSlowReader();
  }
}
