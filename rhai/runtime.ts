import { fail, type Pos, RhaiFailure } from './errors';
import { tooLargeString } from './sizes';
import type { StoreAccess } from './store-access';
import { byteLength, Cell, type Value } from './values';

/** Check the wall clock / operation budget at least this often (in operations). */
const CHECK_EVERY = 1 << 14;

/** A global (host-bound) variable. */
export class GlobalVar extends Cell {
  constructor(
    v: Value,
    readonly isConst: boolean,
  ) {
    super(v);
  }
}

/** Host services a run may use. */
export interface RunHost {
  onPrint?: (line: string) => void;
  onDebug?: (line: string) => void;
  store?: StoreAccess;
}

export interface RuntimeLimits {
  readonly maxOperations: number;
  readonly maxCallLevels: number;
  readonly maxStringSize: number;
  readonly maxArraySize: number;
  readonly maxMapSize: number;
  readonly deadlineMs: number;
  readonly deadlineCheckOps?: number;
}

/** Per-run mutable state: operation counter, call depth, limits, globals, host hooks. */
export class Runtime {
  ops = 0;
  /** next op count at which `overLimit` must run (budget or clock check) */
  limit: number;
  level = 0;
  readonly maxOps: number;
  readonly maxLevels: number;
  readonly maxString: number;
  readonly maxArray: number;
  readonly maxMap: number;
  /** true when any data-size limit is set (size accounting is skipped otherwise) */
  readonly limited: boolean;
  /** last known sizes of variable-held containers (see sizes.ts) */
  readonly sizeCache = new WeakMap<object, { a: number; m: number; s: number; epoch: number }>();
  /** bumped by every container mutation that sizes.ts did not account for */
  epoch = 0;
  private readonly deadline: number;
  private readonly checkEvery: number;
  /** incremented to name anonymous functions */
  anonCounter = 0;

  constructor(
    limits: RuntimeLimits,
    readonly globals: Map<string, GlobalVar>,
    readonly host: RunHost,
  ) {
    this.maxOps = limits.maxOperations > 0 ? limits.maxOperations : Infinity;
    this.maxLevels = limits.maxCallLevels;
    this.maxString = limits.maxStringSize > 0 ? limits.maxStringSize : Infinity;
    this.maxArray = limits.maxArraySize > 0 ? limits.maxArraySize : Infinity;
    this.maxMap = limits.maxMapSize > 0 ? limits.maxMapSize : Infinity;
    this.limited = this.maxString !== Infinity || this.maxArray !== Infinity || this.maxMap !== Infinity;
    this.deadline = limits.deadlineMs > 0 ? Date.now() + limits.deadlineMs : Infinity;
    this.checkEvery = Math.max(1, limits.deadlineCheckOps ?? CHECK_EVERY);
    this.limit = Math.min(this.maxOps, this.checkEvery);
  }

  /** Slow path of operation charging: enforce the budget and the deadline. */
  overLimit(pos?: Pos): void {
    if (this.ops > this.maxOps) throw fail('ErrorTooManyOperations', 'Too many operations', pos);
    if (this.deadline !== Infinity && Date.now() > this.deadline) {
      throw fail('ErrorTerminated', 'Script terminated', pos);
    }
    this.limit = Math.min(this.maxOps, this.ops + this.checkEvery);
  }

  /** The deadline alone (for long built-in work between two operation charges). */
  checkClock(pos?: Pos): void {
    if (this.deadline !== Infinity && Date.now() > this.deadline) {
      throw fail('ErrorTerminated', 'Script terminated', pos);
    }
  }

  checkString(s: string, pos?: Pos): string {
    if (s.length > this.maxString / 3 && (s.length > this.maxString || byteLength(s) > this.maxString)) {
      throw tooLargeString(pos);
    }
    return s;
  }
}

/**
 * One activation of a function (or the top level). Short names: every compiled op reads them.
 * `s`: local slots (resolve.ts numbers them): a value, or a Cell for a variable a closure
 * captures, or a caught error (a try's hidden slot); `rt`: the run; `th`: the cell bound to
 * `this`; `caps`: the cells a closure captured, by capture index.
 */
export class Frame {
  constructor(
    readonly s: any[],
    readonly rt: Runtime,
    readonly th: Cell | undefined,
    readonly caps: readonly Cell[],
  ) {}
}

export type Op = (f: Frame) => Value;

export function isFailure(e: unknown): e is RhaiFailure {
  return e instanceof RhaiFailure;
}
