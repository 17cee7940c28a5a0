/** A queued task id and its key in the durable `queue` table. */
export interface QueuedId {
  readonly taskId: string;
  readonly seq: number;
}

/** A growable ring buffer: O(1) at both ends, for work queues of any length. */
class Deque<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  length = 0;

  pushBack(item: T): void {
    this.grow();
    this.items[(this.head + this.length) % this.items.length] = item;
    this.length++;
  }

  pushFront(item: T): void {
    this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.length++;
  }

  peekFront(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.length--;
    return item;
  }

  private grow(): void {
    if (this.length < this.items.length) return;
    const items = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.length; i++) items[i] = this.items[(this.head + i) % this.items.length];
    this.items = items;
    this.head = 0;
  }
}

/**
 * The in-memory side of the work queues: ids waiting per circle (oldest first) and ids held
 * per worker and circle. The `queue` table is the durable truth; this is rebuilt from it on
 * open, where everything is pending again (a worker cannot outlive its process).
 */
export class WorkQueues {
  private readonly pending = new Map<string, Deque<QueuedId>>();
  /** Held ids per `${workerId}\0${circlePk}`, in the order taken. */
  private readonly held = new Map<string, QueuedId[]>();
  private waiters = new Set<() => void>();

  /** Appends (newest last) and wakes waiting takers. */
  enqueue(circlePk: string, ids: readonly QueuedId[]): void {
    if (ids.length === 0) return;
    const queue = this.queue(circlePk);
    for (const id of ids) queue.pushBack(id);
    this.wake();
  }

  /** Puts ids back at the front, next to run, oldest first. */
  enqueueFront(circlePk: string, ids: readonly QueuedId[]): void {
    if (ids.length === 0) return;
    const queue = this.queue(circlePk);
    for (const id of [...ids].sort((a, b) => b.seq - a.seq)) queue.pushFront(id);
    this.wake();
  }

  /** Moves the oldest waiting id of a circle into a worker's held list. */
  takeOne(workerId: string, circlePk: string): QueuedId | undefined {
    const id = this.pending.get(circlePk)?.shift();
    if (id !== undefined) this.heldList(workerId, circlePk).push(id);
    return id;
  }

  /** Ids of a circle waiting to be taken. */
  depth(circlePk: string): number {
    return this.pending.get(circlePk)?.length ?? 0;
  }

  /** The id of a circle taken next (the oldest waiting), if any. */
  oldest(circlePk: string): QueuedId | undefined {
    return this.pending.get(circlePk)?.peekFront();
  }

  isHeld(workerId: string, circlePk: string, taskId: string): boolean {
    return this.held.get(heldKey(workerId, circlePk))?.some((id) => id.taskId === taskId) ?? false;
  }

  /** Removes a held id (the first, if held twice); `undefined` when not held. */
  unhold(workerId: string, circlePk: string, taskId: string): QueuedId | undefined {
    const list = this.held.get(heldKey(workerId, circlePk));
    const at = list?.findIndex((id) => id.taskId === taskId) ?? -1;
    if (!list || at < 0) return undefined;
    return list.splice(at, 1)[0];
  }

  /** Gives back an id `unhold` removed (its write failed). */
  rehold(workerId: string, circlePk: string, id: QueuedId): void {
    this.heldList(workerId, circlePk).push(id);
  }

  heldBy(workerId: string, circlePk: string): readonly QueuedId[] {
    return this.held.get(heldKey(workerId, circlePk)) ?? [];
  }

  /**
   * Resolves when work may have arrived (any enqueue), after `ms`, or on `cancel`. The
   * caller looks again: another worker may have taken it first.
   */
  waitForWork(ms: number): { readonly arrived: Promise<void>; cancel(): void } {
    let done!: () => void;
    const arrived = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), ms);
      done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
    });
    return { arrived, cancel: () => done() };
  }

  /** Ends every wait (closing). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  private queue(circlePk: string): Deque<QueuedId> {
    let queue = this.pending.get(circlePk);
    if (!queue) this.pending.set(circlePk, (queue = new Deque()));
    return queue;
  }

  private heldList(workerId: string, circlePk: string): QueuedId[] {
    let list = this.held.get(heldKey(workerId, circlePk));
    if (!list) this.held.set(heldKey(workerId, circlePk), (list = []));
    return list;
  }
}

function heldKey(workerId: string, circlePk: string): string {
  return `${workerId}\0${circlePk}`;
}
