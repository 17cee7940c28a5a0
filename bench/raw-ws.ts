/**
 * A minimal WebSocket client on a raw TCP socket, for the load generator only. Node's `ws`
 * client costs more CPU per message than uWS spends serving it, so a `ws`-based generator
 * would measure itself. This one writes many frames in one socket write, masks with the
 * all-zero key (legal per RFC 6455 §5.3 and a no-op XOR), and hands text payloads up as
 * strings without copying more than once. Unfragmented text frames only — what our
 * servers send; pings are answered so idle sessions survive.
 */
import * as net from 'node:net';

const HANDSHAKE_END = Buffer.from('\r\n\r\n');

export class RawWs {
  private pending: Buffer | null = null;
  /**
   * Outgoing frames are written straight into one buffer and leave in one write per tick. It
   * starts small (a login sends two short frames; 64 KiB per socket halved a storm's logins/s)
   * and reserve() doubles it for pipelined load.
   */
  private out = Buffer.allocUnsafe(1024);
  private outLen = 0;
  private flushQueued = false;
  closed = false;
  onMessage: (text: string) => void = () => undefined;
  /** Raw text payload `buf[start, end)`; the hot path reads ids from bytes, never decoding. */
  onFrame: (buf: Buffer, start: number, end: number) => void = (buf, start, end) =>
    this.onMessage(buf.toString('utf8', start, end));
  onClose: () => void = () => undefined;

  private constructor(private readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.onClose();
    });
    sock.on('error', () => undefined);
  }

  /** Opens ws://127.0.0.1:port/path; rejects on refusal, a non-101 answer or `timeoutMs`. */
  static connect(port: number, path: string, timeoutMs = 10_000): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => fail(new Error('websocket handshake timeout')), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        sock.removeAllListeners('data');
        sock.destroy();
        reject(err);
      };
      sock.once('error', fail);
      sock.once('connect', () => {
        sock.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      const onHead = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf(HANDSHAKE_END);
        if (end < 0) return;
        sock.removeListener('data', onHead);
        sock.removeListener('error', fail);
        clearTimeout(timer);
        const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
        if (!/ 101 /.test(status)) {
          sock.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        const ws = new RawWs(sock);
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length) ws.onData(rest);
      };
      sock.on('data', onHead);
    });
  }

  /** Queues one text frame; frames queued in the same tick leave in one write. */
  send(text: string): void {
    const len = Buffer.byteLength(text);
    const hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
    this.reserve(hdr + len);
    const o = this.out;
    let at = this.outLen;
    o[at] = 0x81;
    if (len < 126) {
      o[at + 1] = 0x80 | len;
    } else if (len < 65536) {
      o[at + 1] = 0x80 | 126;
      o.writeUInt16BE(len, at + 2);
    } else {
      o[at + 1] = 0x80 | 127;
      o.writeBigUInt64BE(BigInt(len), at + 2);
    }
    at += hdr;
    o.writeUInt32BE(0, at - 4); // zero mask key
    o.write(text, at);
    this.outLen = at + len;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(() => this.flush());
    }
  }

  private reserve(n: number): void {
    if (this.outLen + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLen + n));
    this.out.copy(bigger, 0, 0, this.outLen);
    this.out = bigger;
  }

  flush(): void {
    this.flushQueued = false;
    if (this.outLen === 0 || this.closed) {
      this.outLen = 0;
      return;
    }
    // A copy: the socket may hold on to what it was given while we refill `out`.
    this.sock.write(Buffer.from(this.out.subarray(0, this.outLen)));
    this.outLen = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroy();
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 2) {
      const op = buf[off]! & 0x0f;
      let len = buf[off + 1]! & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      if (buf.length - off < hdr + len) break;
      const start = off + hdr;
      off = start + len;
      if (op === 0x1) this.onFrame(buf, start, off);
      else if (op === 0x9) this.sendControl(0xa, buf.subarray(start, off));
      else if (op === 0x8) {
        this.close();
        this.onClose();
        return;
      }
    }
    if (off < buf.length) {
      buf = buf.subarray(off);
      this.pending = Buffer.from(buf); // copy: the chunk may be reused by the socket
    }
  }

  private sendControl(op: number, payload: Buffer): void {
    this.reserve(6 + payload.length);
    this.out[this.outLen] = 0x80 | op;
    this.out[this.outLen + 1] = 0x80 | payload.length;
    this.out.writeUInt32BE(0, this.outLen + 2);
    payload.copy(this.out, this.outLen + 6);
    this.outLen += 6 + payload.length;
    this.flush();
  }
}

const ID = Buffer.from('"id":');

/**
 * The integer `"id":N` of a JSON-RPC response in `buf[start, end)` without decoding it (ids
 * are ours), or -1; `isError` tells whether `"error"` follows the id, as both our server and
 * the baselines write `{"jsonrpc","id",result|error}` in that order.
 */
export function responseId(buf: Buffer, start: number, end: number): { id: number; isError: boolean } {
  const i = buf.indexOf(ID, start);
  if (i < 0 || i >= end) return { id: -1, isError: false };
  let n = 0;
  let j = i + 5;
  for (; j < end; j++) {
    const c = buf[j]!;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  if (j === i + 5) return { id: -1, isError: false };
  // `,"e` after the id is an error; anything else but `,"r` falls back to a search.
  const isError =
    buf[j + 2] === 0x65 || (buf[j + 2] !== 0x72 && buf.subarray(start, end).includes('"error":'));
  return { id: n, isError };
}
