/** AST helpers used by the compiler: loop-signal detection, constant labels, caught-error values. */
import type { Expr, Stmt } from './ast';
import type { RhaiFailure } from './errors';
import { intNeg } from './int';
import { RChar, RFloat, RRange, type Value } from './values';

/** Does a loop body contain break/continue for this loop (not inside nested loops/closures)? */
export function hasLoopSignal(e: Expr): boolean {
  let found = false;
  const visitE = (x: Expr, depth: number): void => {
    if (found) return;
    switch (x.k) {
      case 'break':
      case 'continue':
        if (depth === 0) found = true;
        if (x.k === 'break' && x.value) visitE(x.value, depth);
        return;
      case 'closure':
        return;
      case 'while':
      case 'do':
      case 'for':
        // nested loops catch their own signals, but conditions/iterables belong to us
        if (x.k === 'for') visitE(x.iter, depth);
        if (x.k !== 'for' && x.cond) visitE(x.cond, depth);
        visitE(x.body, depth + 1);
        return;
    }
    for (const c of children(x)) visitE(c, depth);
  };
  visitE(e, 0);
  return found;
}

function children(x: Expr): Expr[] {
  switch (x.k) {
    case 'interp':
      return [...x.parts];
    case 'array':
      return [...x.items];
    case 'map':
      return x.entries.map(([, v]) => v);
    case 'unary':
      return [x.e];
    case 'binary':
    case 'and':
    case 'or':
    case 'coalesce':
      return [x.l, x.r];
    case 'range':
      return [x.from, x.to].filter((y): y is Expr => !!y);
    case 'index':
      return [x.target, x.index];
    case 'prop':
      return [x.target];
    case 'method':
      return [x.target, ...x.args];
    case 'call':
      return [...x.args];
    case 'block':
      return x.body.flatMap(stmtChildren);
    case 'if':
      return [x.cond, x.then, ...(x.else ? [x.else] : [])];
    case 'switch':
      return [
        x.subject,
        ...x.cases.flatMap((c) => [c.body, ...(c.guard ? [c.guard] : [])]),
        ...(x.def ? [x.def] : []),
      ];
    case 'return':
    case 'throw':
    case 'break':
      return x.value ? [x.value] : [];
  }
  return [];
}

function stmtChildren(s: Stmt): Expr[] {
  switch (s.k) {
    case 'expr':
      return [s.e];
    case 'let':
      return s.value ? [s.value] : [];
    case 'assign':
      return [s.target, s.value];
    case 'try':
      return [s.body, s.handler];
  }
  return [];
}

/** Evaluate a constant switch label. */
export function constValue(e: Expr): Value {
  switch (e.k) {
    case 'int':
    case 'str':
    case 'bool':
      return e.v;
    case 'float':
      return new RFloat(e.v);
    case 'char':
      return new RChar(e.v);
    case 'unit':
      return undefined;
    case 'unary': {
      const v = constValue(e.e);
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

/** Turn a caught error into the value bound by `catch (e)`. */
export function errorToValue(e: RhaiFailure): Value {
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
