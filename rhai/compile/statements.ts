/**
 * Statements (Rhai: `eval/stmt.rs`): blocks, expression statements, `let`, `try`/`catch`.
 * Assignment has its own file (assign.ts).
 */
import type { Expr, Stmt, StmtOf } from '../ast';
import { BreakSignal, ContinueSignal, fail, ReturnSignal, RhaiFailure } from '../errors';
import type { Op } from '../runtime';
import { Cell, type Value } from '../values';
import { assign } from './assign';
import { charged } from './charge';
import type { FnCompiler } from './context';

/** Control-flow constructs are statements in Rhai: the statement itself is their one op. */
const STMT_LIKE = new Set<Expr['kind']>(['if', 'switch', 'while', 'do', 'for', 'block']);

/** A block's statements in order; its value is the last one's. Short blocks run without a loop. */
export function block(fc: FnCompiler, stmts: readonly Stmt[]): Op {
  const ops = stmts.filter((s) => s.kind !== 'noop').map((s) => stmt(fc, s));
  switch (ops.length) {
    case 0:
      return () => undefined;
    case 1:
      return ops[0];
    case 2: {
      const [a, b] = ops;
      return (f) => {
        a(f);
        return b(f);
      };
    }
    case 3: {
      const [a, b, c] = ops;
      return (f) => {
        a(f);
        b(f);
        return c(f);
      };
    }
    default: {
      const n = ops.length - 1;
      const last = ops[n];
      return (f) => {
        for (let i = 0; i < n; i++) ops[i](f);
        return last(f);
      };
    }
  }
}

/** Body of an if-branch / loop (a block expression without its own op cost). */
export function body(fc: FnCompiler, e: Expr): Op {
  if (e.kind === 'block') return fc.block(e.body);
  const [op, cost] = fc.expr(e);
  return charged(op, cost);
}

/** One statement; it charges its operations once, up front (see charge.ts). */
function stmt(fc: FnCompiler, s: Stmt): Op {
  switch (s.kind) {
    case 'expr': {
      const [op, cost] = fc.expr(s.expr);
      return charged(op, STMT_LIKE.has(s.expr.kind) ? cost : cost + 1);
    }
    case 'let': {
      const d = fc.res.declOf.get(s)!;
      const [v, cost] = s.value ? fc.expr(s.value, true) : [() => undefined, 0];
      const slot = d.index;
      const op: Op = d.captured
        ? (f) => {
            f.s[slot] = new Cell(v(f));
            return undefined;
          }
        : (f) => {
            f.s[slot] = v(f);
            return undefined;
          };
      return charged(op, cost + 1);
    }
    case 'assign':
      return assign(fc, s);
    case 'try':
      return tryStmt(fc, s);
    case 'noop':
      return () => undefined;
  }
}

/** `try { } catch (e) { }`: system errors (errors.ts) and control-flow signals pass through. */
function tryStmt(fc: FnCompiler, s: StmtOf<'try'>): Op {
  const body = fc.body(s.body);
  const handler = fc.body(s.handler);
  const errSlot = fc.res.tryErrSlot.get(s)!;
  const d = s.catchVar ? fc.res.declOf.get(s) : undefined;
  const op: Op = (f) => {
    try {
      body(f);
    } catch (e) {
      if (e instanceof BreakSignal || e instanceof ContinueSignal || e instanceof ReturnSignal) throw e;
      if (e instanceof RangeError) throw fail('ErrorStackOverflow', 'Stack overflow', s.pos);
      if (!(e instanceof RhaiFailure) || e.isSystem) throw e;
      f.s[errSlot] = e as unknown as Value;
      if (d) {
        const v = errorToValue(e);
        f.s[d.index] = d.captured ? new Cell(v) : v;
      }
      handler(f);
    }
    return undefined;
  };
  return charged(op, 1);
}

/** Turn a caught error into the value bound by `catch (e)`. */
function errorToValue(e: RhaiFailure): Value {
  let inner = e;
  while (inner.kind === 'ErrorInFunctionCall' && inner.inner) inner = inner.inner;
  if (inner.kind === 'ErrorRuntime') return inner.value;
  const m = new Map<string, Value>();
  m.set('error', e.kind);
  m.set('message', e.kind === 'ErrorInFunctionCall' ? e.message : e.detail);
  if (e.pos.line > 0) {
    m.set('line', e.pos.line);
    m.set('position', e.pos.pos);
  }
  if (e.fnName) m.set('function', e.fnName);
  return m;
}
