/**
 * The compiler of one function body: routes each AST node to the file that compiles its kind.
 * The switch over `e.kind` returns in every case, so a new node kind fails to type-check here
 * until it is routed.
 */
import type { Expr, FnDef, Stmt } from '../ast';
import type { FnScope, Resolution } from '../resolve';
import type { Op } from '../runtime';
import { ifExpr, switchExpr } from './branches';
import { call } from './calls';
import type { Compiled, FnCompiler } from './context';
import {
  arrayLiteral,
  blockExpr,
  indexRead,
  interpolated,
  literal,
  mapLiteral,
  propRead,
  range,
  variable,
} from './expressions';
import type { FnTable } from './invoke';
import { breakExpr, continueExpr, returnExpr, throwExpr } from './jumps';
import { doExpr, forExpr, whileExpr } from './loops';
import { method } from './methods';
import { binary, coalesce, logical, unary } from './operators';
import { block, body } from './statements';

/** Compiles closure literals (program.ts): they become functions of the program. */
export interface ClosureCompiler {
  closure(def: FnDef): Op;
}

export class FnBodyCompiler implements FnCompiler {
  constructor(
    readonly res: Resolution,
    readonly scope: FnScope,
    readonly fns: FnTable,
    private readonly closures: ClosureCompiler,
  ) {}

  block(stmts: readonly Stmt[]): Op {
    return block(this, stmts);
  }

  body(e: Expr): Op {
    return body(this, e);
  }

  closure(def: FnDef): Op {
    return this.closures.closure(def);
  }

  expr(e: Expr, value = false): Compiled {
    switch (e.kind) {
      case 'int':
      case 'str':
      case 'bool':
      case 'float':
      case 'char':
      case 'unit':
        return literal(e);
      case 'interp':
        return interpolated(this, e);
      case 'array':
        return arrayLiteral(this, e);
      case 'map':
        return mapLiteral(this, e);
      case 'var':
      case 'this':
        return variable(this, e, value);
      case 'unary':
        return unary(this, e);
      case 'binary':
        return binary(this, e);
      case 'and':
      case 'or':
        return logical(this, e);
      case 'coalesce':
        return coalesce(this, e, value);
      case 'range':
        return range(this, e);
      case 'index':
        return indexRead(this, e, value);
      case 'prop':
        return propRead(this, e, value);
      case 'method':
        return method(this, e);
      case 'call':
        return call(this, e);
      case 'closure':
        return [this.closure(e.fn), 1];
      case 'block':
        return blockExpr(this, e, value);
      case 'if':
        return ifExpr(this, e, value);
      case 'switch':
        return switchExpr(this, e, value);
      case 'while':
        return whileExpr(this, e);
      case 'do':
        return doExpr(this, e);
      case 'for':
        return forExpr(this, e);
      case 'break':
        return breakExpr(this, e);
      case 'continue':
        return continueExpr();
      case 'return':
        return returnExpr(this, e);
      case 'throw':
        return throwExpr(this, e);
    }
  }
}
