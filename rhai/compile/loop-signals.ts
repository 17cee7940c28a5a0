/** Loop-signal detection: lets a loop whose body cannot break or continue it skip its try/catch. */
import type { Expr, Stmt } from '../ast';

/** Does a loop body contain break/continue for this loop (not inside nested loops/closures)? */
export function hasLoopSignal(e: Expr): boolean {
  let found = false;
  const visitE = (x: Expr, depth: number): void => {
    if (found) return;
    switch (x.kind) {
      case 'break':
      case 'continue':
        if (depth === 0) found = true;
        if (x.kind === 'break' && x.value) visitE(x.value, depth);
        return;
      case 'closure':
        return;
      case 'while':
      case 'do':
      case 'for':
        // nested loops catch their own signals, but conditions/iterables belong to us
        if (x.kind === 'for') visitE(x.iter, depth);
        if (x.kind !== 'for' && x.cond) visitE(x.cond, depth);
        visitE(x.body, depth + 1);
        return;
    }
    for (const c of children(x)) visitE(c, depth);
  };
  visitE(e, 0);
  return found;
}

function children(x: Expr): Expr[] {
  switch (x.kind) {
    case 'interp':
      return [...x.parts];
    case 'array':
      return [...x.items];
    case 'map':
      return x.entries.map(([, v]) => v);
    case 'unary':
      return [x.operand];
    case 'binary':
    case 'and':
    case 'or':
    case 'coalesce':
      return [x.left, x.right];
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
        ...(x.otherwise ? [x.otherwise] : []),
      ];
    case 'return':
    case 'throw':
    case 'break':
      return x.value ? [x.value] : [];
  }
  return [];
}

function stmtChildren(s: Stmt): Expr[] {
  switch (s.kind) {
    case 'expr':
      return [s.expr];
    case 'let':
      return s.value ? [s.value] : [];
    case 'assign':
      return [s.target, s.value];
    case 'try':
      return [s.body, s.handler];
  }
  return [];
}
