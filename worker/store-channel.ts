/**
 * A synchronous request channel from a script thread to the worker's main thread, for the
 * circle store. The engine's store calls are synchronous, and the store lives behind an
 * asynchronous backend (Redis, the embedded database): the thread posts its request, then
 * blocks in `Atomics.wait` on a SharedArrayBuffer until the main thread has written the
 * answer there. Answers larger than the buffer travel in chunks.
 *
 * Control words (Int32): [STATE] = seq·2 while request `seq` waits, seq·2+1 once answered;
 * [TOTAL] = bytes of the whole answer; [CHUNK] = bytes in the data area now. The main thread
 * only answers a request whose seq is still the one waiting (compare-and-swap), so an answer
 * that comes after the thread gave up can never be mistaken for a later one.
 */
import type { KeyListing, StoreEntry } from '../queue/worker-backend';

/** What a script thread asks of its circle's store. */
export type StoreRequest =
  | { readonly op: 'read'; readonly keys: readonly string[] }
  | { readonly op: 'list'; readonly prefix: string; readonly limit: number };

export type StoreResponse =
  | { readonly ok: true; readonly entries: StoreEntry[] }
  | { readonly ok: true; readonly listing: KeyListing }
  | { readonly ok: false; readonly error: string };

/** Thread → main messages of the channel. */
export type StoreChannelMessage =
  | { readonly type: 'store'; readonly seq: number; readonly request: StoreRequest }
  | { readonly type: 'store-more'; readonly seq: number };

const STATE = 0;
const TOTAL = 1;
const CHUNK = 2;
const HEADER_BYTES = 4 * Int32Array.BYTES_PER_ELEMENT;
/** Data area per thread; most answers (a few keys) fit in one chunk. */
const DATA_BYTES = 256 * 1024;
/** Keeps seq·2+1 inside an Int32. */
const SEQ_MODULO = 1 << 29;

/** The shared memory of one thread's channel. */
export function createChannelBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + DATA_BYTES);
}

/** Raised in the thread when the main thread could not answer (backend down, too slow). */
export class StoreUnavailableError extends Error {}

/** The script thread's end: blocking requests. */
export class StoreChannelClient {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private seq = 0;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly post: (message: StoreChannelMessage) => void,
  ) {
    this.control = new Int32Array(buffer, 0, 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** Sends `request` and waits for its answer until `deadline` (epoch ms). */
  request(request: StoreRequest, deadline: number): StoreResponse {
    let seq = this.begin();
    this.post({ type: 'store', seq, request });
    this.wait(seq, deadline);
    const total = Atomics.load(this.control, TOTAL);
    const answer = Buffer.allocUnsafe(total);
    let received = this.copyChunk(answer, 0);
    while (received < total) {
      seq = this.begin();
      this.post({ type: 'store-more', seq });
      this.wait(seq, deadline);
      received += this.copyChunk(answer, received);
    }
    return JSON.parse(answer.toString('utf8')) as StoreResponse;
  }

  private begin(): number {
    this.seq = (this.seq + 1) % SEQ_MODULO;
    Atomics.store(this.control, STATE, this.seq * 2);
    return this.seq;
  }

  private wait(seq: number, deadline: number): void {
    for (;;) {
      if (Atomics.load(this.control, STATE) === seq * 2 + 1) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        // Withdraw the request so a late answer is dropped.
        Atomics.store(this.control, STATE, -1);
        throw new StoreUnavailableError('the circle store did not answer before the deadline');
      }
      Atomics.wait(this.control, STATE, seq * 2, left);
    }
  }

  private copyChunk(into: Buffer, offset: number): number {
    const length = Atomics.load(this.control, CHUNK);
    into.set(this.data.subarray(0, length), offset);
    return length;
  }
}

/** The main thread's end for one script thread: answers its requests, chunk by chunk. */
export class StoreChannelServer {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  /** The answer being sent in chunks, and how much of it has gone. */
  private outgoing: { bytes: Buffer; sent: number } | null = null;

  constructor(buffer: SharedArrayBuffer) {
    this.control = new Int32Array(buffer, 0, 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** Whether request `seq` is still waiting for its answer. */
  waiting(seq: number): boolean {
    return Atomics.load(this.control, STATE) === seq * 2;
  }

  /** Answers request `seq` (dropped if the thread no longer waits for it). */
  answer(seq: number, response: StoreResponse): void {
    if (!this.waiting(seq)) return;
    this.outgoing = { bytes: Buffer.from(JSON.stringify(response), 'utf8'), sent: 0 };
    this.sendChunk(seq);
  }

  /** Sends the next chunk of the current answer, for a `store-more` request. */
  more(seq: number): void {
    if (this.outgoing && this.waiting(seq)) this.sendChunk(seq);
  }

  private sendChunk(seq: number): void {
    const out = this.outgoing;
    if (!out) return;
    const length = Math.min(this.data.length, out.bytes.length - out.sent);
    this.data.set(out.bytes.subarray(out.sent, out.sent + length));
    out.sent += length;
    Atomics.store(this.control, TOTAL, out.bytes.length);
    Atomics.store(this.control, CHUNK, length);
    if (out.sent >= out.bytes.length) this.outgoing = null;
    if (Atomics.compareExchange(this.control, STATE, seq * 2, seq * 2 + 1) === seq * 2) {
      Atomics.notify(this.control, STATE);
    }
  }
}
