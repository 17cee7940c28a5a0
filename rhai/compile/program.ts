/**
 * Closure compilation, the entry (pass 2, after resolve.ts): turns a parsed script into a tree
 * of JS closures `(frame) => value`, one per AST node, built once and run many times. Builds
 * the function table, compiles each function body and the top level (dispatch.ts routes each
 * node to the file for its concern), and closure literals.
 */
import type { Expr, FnDef, Script, Stmt } from '../ast';
import { NO_POS } from '../errors';
import { Decl, type Resolution, resolve } from '../resolve';
import type { Op } from '../runtime';
import { Cell, FnPtr } from '../values';
import type { FnCompiler } from './context';
import { FnBodyCompiler } from './dispatch';
import { CompiledFn, FnTable } from './invoke';
import { varNotFound } from './places';

/** A compiled script: top-level body plus the function table. */
export interface CompiledProgram {
  readonly main: CompiledFn;
  readonly fns: FnTable;
}

/** A capture slot whose global did not exist when the closure was created. */
function missingCell(name: string): Cell {
  const c = new Cell(undefined);
  const boom = (): never => {
    throw varNotFound(name, NO_POS);
  };
  Object.defineProperty(c, 'v', { get: boom, set: boom });
  return c;
}

/** Whole-program compiler: the function table first (calls may come before definitions), then bodies. */
class ProgramCompiler {
  readonly fns = new FnTable();
  private readonly res: Resolution;

  constructor(private readonly script: Script) {
    this.res = resolve(script);
  }

  compile(): CompiledProgram {
    const { script } = this;
    for (const def of script.fns) this.fns.add(this.makeFn(def, def.name));
    for (const def of script.fns) this.fillFn(this.fns.get(def.name, def.params.length)!, def);
    const mainScope = this.res.fnScopeOf.get('main')!;
    const main = new CompiledFn('', [], 0, [], NO_POS);
    const body = new FnBodyCompiler(this.res, mainScope, this.fns, this).block(script.stmts);
    const prog: CompiledProgram = {
      main: Object.assign(main, { nslots: mainScope.nslots, body }),
      fns: this.fns,
    };
    return prog;
  }

  private makeFn(def: FnDef, name: string): CompiledFn {
    const params = this.res.paramsOf.get(def)!;
    return new CompiledFn(
      name,
      def.params,
      0,
      params.map((d) => d.captured),
      def.pos,
    );
  }

  private fillFn(fn: CompiledFn, def: FnDef): void {
    const fs = this.res.fnScopeOf.get(def)!;
    (fn as { nslots: number }).nslots = fs.nslots;
    fn.body = compileFnBody(new FnBodyCompiler(this.res, fs, this.fns, this), def.body);
  }

  /** Compile a closure literal into an op creating the function pointer. */
  closure(def: FnDef): Op {
    const fs = this.res.fnScopeOf.get(def)!;
    const name = `anon$${(def.pos.line * 65536 + def.pos.pos).toString(16).padStart(16, '0')}`;
    const fn = this.makeFn(def, name);
    this.fillFn(fn, def);
    const caps = fs.captures.map((c) => c.outer);
    return (f) => {
      const cells = new Array<Cell>(caps.length);
      for (let i = 0; i < caps.length; i++) {
        const o = caps[i];
        if (o instanceof Decl) cells[i] = o.isCapture ? f.caps[o.index] : (f.s[o.index] as unknown as Cell);
        else if (typeof o === 'string') cells[i] = f.rt.globals.get(o) ?? missingCell(o);
        else cells[i] = missingCell('?');
      }
      return new FnPtr(name, [], fn, cells);
    };
  }
}

/** Function body: a block, with a trailing `return x` compiled as a plain value. */
function compileFnBody(c: FnCompiler, body: Expr): Op {
  if (body.kind === 'block' && body.body.length > 0) {
    const last = body.body[body.body.length - 1];
    if (last.kind === 'expr' && last.expr.kind === 'return') {
      const init = body.body.slice(0, -1);
      const ret = last.expr;
      const stmts: Stmt[] = [
        ...init,
        ret.value
          ? { kind: 'expr', pos: last.pos, expr: ret.value }
          : { kind: 'expr', pos: last.pos, expr: { kind: 'unit', pos: last.pos } },
      ];
      return c.block(stmts);
    }
  }
  return c.body(body);
}

/** Compile a parsed script. */
export function compileScript(script: Script): CompiledProgram {
  return new ProgramCompiler(script).compile();
}
