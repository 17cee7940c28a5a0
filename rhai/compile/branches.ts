/**
 * Branches (Rhai: `eval/stmt.rs` if / switch): `if` and `switch` expressions.
 */
import type { Expr, ExprOf } from '../ast';
import { intNeg } from '../int';
import { mismatchBool, strictEqual, toF } from '../operators';
import type { Op } from '../runtime';
import { cloneIfObject, isInt, RChar, RFloat, RRange, type Value } from '../values';
import { charged } from './charge';
import type { Compiled, FnCompiler } from './context';

/** `if c { } else { }`: the condition must be a bool; only the branch taken is charged. */
export function ifExpr(fc: FnCompiler, e: ExprOf<'if'>, value: boolean): Compiled {
  const [c, cc] = fc.expr(e.cond);
  const t = fc.body(e.then);
  const el = e.else ? fc.body(e.else) : () => undefined;
  const cp = e.cond.pos;
  const op: Op = (f) => {
    const v = c(f);
    if (v === true) return t(f);
    if (v === false) return el(f);
    throw mismatchBool(v, cp);
  };
  return [value ? (f) => cloneIfObject(op(f)) : op, 1 + cc];
}

/**
 * `switch x { label => body, label if guard => body, _ => default }`: labels are constants (or
 * ranges of numbers) compared in order; the first match whose guard holds runs.
 */
export function switchExpr(fc: FnCompiler, e: ExprOf<'switch'>, value: boolean): Compiled {
  const [subj, sc] = fc.expr(e.subject);
  const cases = e.cases.map((c) => {
    const label = constValue(c.label);
    const guard = c.guard ? charged(...fc.expr(c.guard)) : undefined;
    return { label, guard, guardPos: c.guard?.pos ?? c.pos, body: fc.body(c.body) };
  });
  const def = e.otherwise ? fc.body(e.otherwise) : () => undefined;
  const op: Op = (f) => {
    const v = subj(f);
    for (const c of cases) {
      const l = c.label;
      let hit: boolean;
      if (l instanceof RRange && !(v instanceof RRange)) {
        if (isInt(v) || v instanceof RFloat) {
          const n = toF(v);
          hit = n >= l.start && (l.inclusive ? n <= l.end : n < l.end);
        } else hit = false;
      } else hit = strictEqual(v, l);
      if (!hit) continue;
      if (c.guard) {
        const g = c.guard(f);
        if (typeof g !== 'boolean') throw mismatchBool(g, c.guardPos);
        if (!g) continue;
      }
      return c.body(f);
    }
    return def(f);
  };
  return [value ? (f) => cloneIfObject(op(f)) : op, 1 + sc];
}

/** Evaluate a constant switch label. */
function constValue(e: Expr): Value {
  switch (e.kind) {
    case 'int':
    case 'str':
    case 'bool':
      return e.value;
    case 'float':
      return new RFloat(e.value);
    case 'char':
      return new RChar(e.value);
    case 'unit':
      return undefined;
    case 'unary': {
      const v = constValue(e.operand);
      if (e.op === '+') return v;
      return v instanceof RFloat ? new RFloat(-v.v) : intNeg(v as number);
    }
    case 'array':
      return e.items.map(constValue);
    case 'map':
      return new Map(e.entries.map(([k, v]) => [k, constValue(v)]));
    case 'range':
      return new RRange(
        e.from ? Number(constValue(e.from)) : 0,
        e.to ? Number(constValue(e.to)) : Infinity,
        e.inclusive,
      );
  }
  return undefined;
}
