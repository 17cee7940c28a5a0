import type { Pos } from '../errors';
import type { Runtime } from '../runtime';
import type { Container } from '../sizes';
import type { Cell, FnPtr, Value } from '../values';

/** What a built-in function may use from the engine. */
export interface CallCx {
  readonly rt: Runtime;
  readonly pos: Pos;
  /**
   * The variable-held container the receiver `args[0]` is (or is a direct element of), when
   * the call site knows it: growth of the receiver is then accounted against that root's
   * cached size (sizes.ts `reserve`). Undefined for temporaries and deeper places.
   */
  readonly root: Container | undefined;
  /** call a function pointer with an optional bound `this` */
  callFn(fp: FnPtr, args: Value[], thisCell?: Cell): Value;
  /** arity of a function pointer's target, if known (after currying) */
  fnArity(fp: FnPtr): number | undefined;
  hasScriptFn(name: string, arity: number): boolean;
}

/**
 * A built-in function. `args[0]` is the receiver in method form; mutators change it in place
 * (arrays/maps) or by assigning `args[0]` (strings/ints) — the caller writes it back.
 * Throws {@link NO_MATCH} when the argument types/arity don't fit.
 */
export type Builtin = (args: Value[], cx: CallCx) => Value;

/** Sentinel thrown by a built-in whose signature doesn't match the arguments. */
export const NO_MATCH = { noMatch: true } as const;

export function noMatch(): never {
  throw NO_MATCH;
}
