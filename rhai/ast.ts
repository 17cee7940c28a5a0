/** Abstract syntax tree. Every node carries the position of its significant token. */
import type { Pos } from './errors';

export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '**'
  | '<<'
  | '>>'
  | '&'
  | '|'
  | '^'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | '!in';

export type Expr =
  | { readonly k: 'int'; readonly pos: Pos; readonly v: number | bigint }
  | { readonly k: 'float'; readonly pos: Pos; readonly v: number }
  | { readonly k: 'str'; readonly pos: Pos; readonly v: string }
  | { readonly k: 'char'; readonly pos: Pos; readonly v: string }
  | { readonly k: 'bool'; readonly pos: Pos; readonly v: boolean }
  | { readonly k: 'unit'; readonly pos: Pos }
  | { readonly k: 'interp'; readonly pos: Pos; readonly parts: readonly Expr[] }
  | { readonly k: 'array'; readonly pos: Pos; readonly items: readonly Expr[] }
  | { readonly k: 'map'; readonly pos: Pos; readonly entries: readonly (readonly [string, Expr])[] }
  | { readonly k: 'var'; readonly pos: Pos; readonly name: string }
  | { readonly k: 'this'; readonly pos: Pos }
  | { readonly k: 'unary'; readonly pos: Pos; readonly op: '-' | '+' | '!'; readonly e: Expr }
  | { readonly k: 'binary'; readonly pos: Pos; readonly op: BinaryOp; readonly l: Expr; readonly r: Expr }
  | { readonly k: 'and' | 'or' | 'coalesce'; readonly pos: Pos; readonly l: Expr; readonly r: Expr }
  | {
      readonly k: 'range';
      readonly pos: Pos;
      readonly from?: Expr;
      readonly to?: Expr;
      readonly inclusive: boolean;
    }
  | {
      readonly k: 'index';
      readonly pos: Pos;
      readonly target: Expr;
      readonly index: Expr;
      readonly safe: boolean;
    }
  | {
      readonly k: 'prop';
      readonly pos: Pos;
      readonly target: Expr;
      readonly name: string;
      readonly safe: boolean;
    }
  | {
      readonly k: 'method';
      readonly pos: Pos;
      readonly target: Expr;
      readonly name: string;
      readonly args: readonly Expr[];
      readonly safe: boolean;
    }
  | { readonly k: 'call'; readonly pos: Pos; readonly name: string; readonly args: readonly Expr[] }
  | { readonly k: 'closure'; readonly pos: Pos; readonly fn: FnDef }
  | { readonly k: 'block'; readonly pos: Pos; readonly body: readonly Stmt[] }
  | { readonly k: 'if'; readonly pos: Pos; readonly cond: Expr; readonly then: Expr; readonly else?: Expr }
  | {
      readonly k: 'switch';
      readonly pos: Pos;
      readonly subject: Expr;
      readonly cases: readonly SwitchCase[];
      readonly def?: Expr;
    }
  | { readonly k: 'while'; readonly pos: Pos; readonly cond?: Expr; readonly body: Expr }
  | { readonly k: 'do'; readonly pos: Pos; readonly cond: Expr; readonly until: boolean; readonly body: Expr }
  | {
      readonly k: 'for';
      readonly pos: Pos;
      readonly name: string;
      readonly counter?: string;
      readonly iter: Expr;
      readonly body: Expr;
    }
  | { readonly k: 'break'; readonly pos: Pos; readonly value?: Expr }
  | { readonly k: 'continue'; readonly pos: Pos }
  | { readonly k: 'return'; readonly pos: Pos; readonly value?: Expr }
  | { readonly k: 'throw'; readonly pos: Pos; readonly value?: Expr };

export interface SwitchCase {
  readonly pos: Pos;
  /** literal label expression (or a range) */
  readonly label: Expr;
  readonly guard?: Expr;
  readonly body: Expr;
}

export type Stmt =
  | { readonly k: 'expr'; readonly pos: Pos; readonly e: Expr }
  | {
      readonly k: 'let';
      readonly pos: Pos;
      readonly name: string;
      readonly isConst: boolean;
      readonly value?: Expr;
    }
  | {
      readonly k: 'assign';
      readonly pos: Pos;
      readonly op: string;
      readonly target: Expr;
      readonly value: Expr;
    }
  | {
      readonly k: 'try';
      readonly pos: Pos;
      readonly body: Expr;
      readonly catchVar?: string;
      readonly handler: Expr;
    }
  | { readonly k: 'noop'; readonly pos: Pos };

export interface FnDef {
  readonly name: string;
  readonly params: readonly string[];
  readonly body: Expr;
  readonly pos: Pos;
}

export interface Script {
  readonly stmts: readonly Stmt[];
  readonly fns: readonly FnDef[];
}
