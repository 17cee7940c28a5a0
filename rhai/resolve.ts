/**
 * Static name resolution (pass 1 of compilation): assigns every variable a slot, finds which
 * variables closures capture (those are stored in shared cells), and records each closure's
 * capture list. Rhai scoping is lexical enough for this: blocks scope `let`, script functions
 * see only their own locals, closures capture outer variables by reference.
 */
import type { Expr, FnDef, Script, Stmt } from './ast';

export class FnScope {
  nslots = 0;
  readonly captures: Capture[] = [];
  readonly capByName = new Map<string, Decl>();
  constructor(
    readonly kind: 'main' | 'fn' | 'closure',
    /** for closures: where the closure literal appears */
    readonly outer?: Chain,
  ) {}
}

export class Decl {
  /** true once a closure captures this variable: it then lives in a shared Cell */
  captured = false;
  constructor(
    readonly name: string,
    /** slot index (locals) or capture index (kind 'cap') */
    readonly index: number,
    readonly isConst: boolean,
    readonly isCapture: boolean,
  ) {}
}

export interface Capture {
  /** the captured outer variable, or a global name (top-level closures only) */
  readonly outer: Decl | string | null;
  readonly inner: Decl;
}

interface Chain {
  readonly fs: FnScope;
  readonly blocks: Map<string, Decl>[];
}

export interface Resolution {
  readonly varRef: Map<Expr, Decl | null>;
  readonly declOf: Map<object, Decl>;
  readonly counterOf: Map<object, Decl>;
  readonly fnScopeOf: Map<FnDef | 'main', FnScope>;
  readonly paramsOf: Map<FnDef, Decl[]>;
  readonly visibleNames: Map<Expr, string[]>;
  /** hidden slot holding the caught error of a try statement (for bare `throw;`) */
  readonly tryErrSlot: Map<Stmt, number>;
  readonly rethrowSlot: Map<Expr, number>;
}

export function resolve(script: Script): Resolution {
  const r: Resolution = {
    varRef: new Map(),
    declOf: new Map(),
    counterOf: new Map(),
    fnScopeOf: new Map(),
    paramsOf: new Map(),
    visibleNames: new Map(),
    tryErrSlot: new Map(),
    rethrowSlot: new Map(),
  };
  const catchStack: number[] = [];

  const declare = (c: Chain, name: string, isConst: boolean): Decl => {
    const d = new Decl(name, c.fs.nslots++, isConst, false);
    c.blocks[c.blocks.length - 1].set(name, d);
    return d;
  };

  const lookup = (c: Chain, name: string): Decl | null | string => {
    for (let i = c.blocks.length - 1; i >= 0; i--) {
      const d = c.blocks[i].get(name);
      if (d) return d;
    }
    const fs = c.fs;
    if (fs.kind === 'closure') {
      const existing = fs.capByName.get(name);
      if (existing) return existing;
      const o = lookup(fs.outer!, name);
      if (o === null) return null;
      if (o instanceof Decl) o.captured = true;
      const inner = new Decl(name, fs.captures.length, false, true);
      fs.captures.push({ outer: o, inner });
      fs.capByName.set(name, inner);
      return inner;
    }
    // top level: unknown names are host globals, looked up at run time
    return fs.kind === 'main' ? name : null;
  };

  const visible = (c: Chain): string[] => {
    const out = new Set<string>();
    let ch: Chain | undefined = c;
    while (ch) {
      for (const b of ch.blocks) for (const k of b.keys()) out.add(k);
      for (const k of ch.fs.capByName.keys()) out.add(k);
      ch = ch.fs.kind === 'closure' ? ch.fs.outer : undefined;
    }
    return [...out];
  };

  const block = (c: Chain, stmts: readonly Stmt[]): void => {
    c.blocks.push(new Map());
    for (const s of stmts) stmt(c, s);
    c.blocks.pop();
  };

  const stmt = (c: Chain, s: Stmt): void => {
    switch (s.kind) {
      case 'expr':
        expr(c, s.expr);
        return;
      case 'let':
        if (s.value) expr(c, s.value);
        r.declOf.set(s, declare(c, s.name, s.isConst));
        return;
      case 'assign':
        expr(c, s.value);
        expr(c, s.target);
        return;
      case 'try': {
        expr(c, s.body);
        const slot = c.fs.nslots++;
        r.tryErrSlot.set(s, slot);
        c.blocks.push(new Map());
        if (s.catchVar) r.declOf.set(s, declare(c, s.catchVar, false));
        catchStack.push(slot);
        expr(c, s.handler);
        catchStack.pop();
        c.blocks.pop();
        return;
      }
      case 'noop':
        return;
    }
  };

  const fnBody = (def: FnDef, kind: 'fn' | 'closure', outer?: Chain): void => {
    const fs = new FnScope(kind, outer);
    r.fnScopeOf.set(def, fs);
    const c: Chain = { fs, blocks: [new Map()] };
    r.paramsOf.set(
      def,
      def.params.map((p) => declare(c, p, false)),
    );
    const savedCatch = catchStack.splice(0);
    expr(c, def.body);
    catchStack.push(...savedCatch);
  };

  const expr = (c: Chain, e: Expr): void => {
    switch (e.kind) {
      case 'var': {
        const d = lookup(c, e.name);
        r.varRef.set(e, d instanceof Decl ? d : null);
        return;
      }
      case 'interp':
        e.parts.forEach((p) => expr(c, p));
        return;
      case 'array':
        e.items.forEach((p) => expr(c, p));
        return;
      case 'map':
        e.entries.forEach(([, v]) => expr(c, v));
        return;
      case 'unary':
        expr(c, e.operand);
        return;
      case 'binary':
      case 'and':
      case 'or':
      case 'coalesce':
        expr(c, e.left);
        expr(c, e.right);
        return;
      case 'range':
        if (e.from) expr(c, e.from);
        if (e.to) expr(c, e.to);
        return;
      case 'index':
        expr(c, e.target);
        expr(c, e.index);
        return;
      case 'prop':
        expr(c, e.target);
        return;
      case 'method':
        expr(c, e.target);
        e.args.forEach((a) => expr(c, a));
        return;
      case 'call':
        e.args.forEach((a) => expr(c, a));
        if (e.name === 'is_def_var') r.visibleNames.set(e, visible(c));
        return;
      case 'closure':
        fnBody(e.fn, 'closure', { fs: c.fs, blocks: c.blocks.slice() });
        return;
      case 'block':
        block(c, e.body);
        return;
      case 'if':
        expr(c, e.cond);
        expr(c, e.then);
        if (e.else) expr(c, e.else);
        return;
      case 'switch':
        expr(c, e.subject);
        for (const cs of e.cases) {
          if (cs.guard) expr(c, cs.guard);
          expr(c, cs.body);
        }
        if (e.otherwise) expr(c, e.otherwise);
        return;
      case 'while':
        if (e.cond) expr(c, e.cond);
        expr(c, e.body);
        return;
      case 'do':
        expr(c, e.body);
        expr(c, e.cond);
        return;
      case 'for':
        expr(c, e.iter);
        c.blocks.push(new Map());
        r.declOf.set(e, declare(c, e.name, false));
        if (e.counter) r.counterOf.set(e, declare(c, e.counter, false));
        expr(c, e.body);
        c.blocks.pop();
        return;
      case 'break':
      case 'return':
        if (e.value) expr(c, e.value);
        return;
      case 'throw':
        if (e.value) expr(c, e.value);
        else if (catchStack.length) r.rethrowSlot.set(e, catchStack[catchStack.length - 1]);
        return;
      default:
        return;
    }
  };

  const main = new FnScope('main');
  r.fnScopeOf.set('main', main);
  const mainChain: Chain = { fs: main, blocks: [new Map()] };
  for (const s of script.stmts) stmt(mainChain, s);
  for (const f of script.fns) fnBody(f, 'fn');
  return r;
}
