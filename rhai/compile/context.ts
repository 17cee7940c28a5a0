/**
 * What the compile/ files share while compiling one function body. The dispatch
 * (dispatch.ts) implements {@link FnCompiler}; each concern file takes it as its first
 * argument and calls back through it, so the files depend on this interface, not on each
 * other in a cycle (statements contain expressions, and blocks are expressions).
 */
import type { Expr, FnDef, Stmt } from '../ast';
import type { FnScope, Resolution } from '../resolve';
import type { Frame, Op } from '../runtime';
import type { Cell, Value } from '../values';
import type { FnTable } from './invoke';

/**
 * A compiled expression: its op and its static cost, the operations every evaluation of it
 * costs (see charge.ts). The enclosing statement charges the cost once.
 */
export type Compiled = [Op, number];

/** An assignment target or method receiver (Rhai's `Target`): read and written in place. */
export interface Place {
  get: Op;
  set: (f: Frame, v: Value) => void;
  /** the shared cell when the place is a captured variable or `this` */
  cell?: (f: Frame) => Cell | undefined;
  /** name of a constant root variable, checked before mutation */
  constRoot?: (f: Frame) => string | undefined;
  /** the place is a whole variable (or `this`), not an element or property of one */
  readonly isVar: boolean;
}

/** The compiler of one function body (or the script's top level). */
export interface FnCompiler {
  /** slots and captures of every name in the script (resolve.ts) */
  readonly res: Resolution;
  /** the function being compiled */
  readonly scope: FnScope;
  /** the script's functions */
  readonly fns: FnTable;
  /** Compile an expression. `value`: the result is stored somewhere, so containers are copied. */
  expr(e: Expr, value?: boolean): Compiled;
  /** Body of an if-branch / loop / function: a block without its own operation. */
  body(e: Expr): Op;
  block(stmts: readonly Stmt[]): Op;
  /** A closure literal: compiles its function; the op makes the function pointer. */
  closure(def: FnDef): Op;
}
