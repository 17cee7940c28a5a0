/**
 * Abstract syntax tree (parser.ts builds it, resolve.ts and compile/ read it). Every node has
 * a `kind` and the position of its significant token. Kinds that are not plain words: `interp`
 * a back-tick string with `${}` parts, `prop` a property read `x.name`, `method` a call
 * `x.name(...)`, `coalesce` `a ?? b`, `unit` `()`, `noop` a statement that does nothing. `safe` marks
 * the `?.` / `?[` forms; a switch's `otherwise` is its `_ =>` branch.
 */
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
  | { readonly kind: 'int'; readonly pos: Pos; readonly value: number | bigint }
  | { readonly kind: 'float'; readonly pos: Pos; readonly value: number }
  | { readonly kind: 'str'; readonly pos: Pos; readonly value: string }
  | { readonly kind: 'char'; readonly pos: Pos; readonly value: string }
  | { readonly kind: 'bool'; readonly pos: Pos; readonly value: boolean }
  | { readonly kind: 'unit'; readonly pos: Pos }
  | { readonly kind: 'interp'; readonly pos: Pos; readonly parts: readonly Expr[] }
  | { readonly kind: 'array'; readonly pos: Pos; readonly items: readonly Expr[] }
  | { readonly kind: 'map'; readonly pos: Pos; readonly entries: readonly (readonly [string, Expr])[] }
  | { readonly kind: 'var'; readonly pos: Pos; readonly name: string }
  | { readonly kind: 'this'; readonly pos: Pos }
  | { readonly kind: 'unary'; readonly pos: Pos; readonly op: '-' | '+' | '!'; readonly operand: Expr }
  | {
      readonly kind: 'binary';
      readonly pos: Pos;
      readonly op: BinaryOp;
      readonly left: Expr;
      readonly right: Expr;
    }
  | { readonly kind: 'and' | 'or'; readonly pos: Pos; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'coalesce'; readonly pos: Pos; readonly left: Expr; readonly right: Expr }
  | {
      readonly kind: 'range';
      readonly pos: Pos;
      readonly from?: Expr;
      readonly to?: Expr;
      readonly inclusive: boolean;
    }
  | {
      readonly kind: 'index';
      readonly pos: Pos;
      readonly target: Expr;
      readonly index: Expr;
      readonly safe: boolean;
    }
  | {
      readonly kind: 'prop';
      readonly pos: Pos;
      readonly target: Expr;
      readonly name: string;
      readonly safe: boolean;
    }
  | {
      readonly kind: 'method';
      readonly pos: Pos;
      readonly target: Expr;
      readonly name: string;
      readonly args: readonly Expr[];
      readonly safe: boolean;
    }
  | { readonly kind: 'call'; readonly pos: Pos; readonly name: string; readonly args: readonly Expr[] }
  | { readonly kind: 'closure'; readonly pos: Pos; readonly fn: FnDef }
  | { readonly kind: 'block'; readonly pos: Pos; readonly body: readonly Stmt[] }
  | { readonly kind: 'if'; readonly pos: Pos; readonly cond: Expr; readonly then: Expr; readonly else?: Expr }
  | {
      readonly kind: 'switch';
      readonly pos: Pos;
      readonly subject: Expr;
      readonly cases: readonly SwitchCase[];
      readonly otherwise?: Expr;
    }
  | { readonly kind: 'while'; readonly pos: Pos; readonly cond?: Expr; readonly body: Expr }
  | {
      readonly kind: 'do';
      readonly pos: Pos;
      readonly cond: Expr;
      readonly until: boolean;
      readonly body: Expr;
    }
  | {
      readonly kind: 'for';
      readonly pos: Pos;
      readonly name: string;
      readonly counter?: string;
      readonly iter: Expr;
      readonly body: Expr;
    }
  | { readonly kind: 'break'; readonly pos: Pos; readonly value?: Expr }
  | { readonly kind: 'continue'; readonly pos: Pos }
  | { readonly kind: 'return'; readonly pos: Pos; readonly value?: Expr }
  | { readonly kind: 'throw'; readonly pos: Pos; readonly value?: Expr };

/** The expression node of one kind, e.g. `ExprOf<'binary'>`. */
export type ExprOf<K extends Expr['kind']> = Extract<Expr, { readonly kind: K }>;

export interface SwitchCase {
  readonly pos: Pos;
  /** literal label expression (or a range) */
  readonly label: Expr;
  readonly guard?: Expr;
  readonly body: Expr;
}

export type Stmt =
  | { readonly kind: 'expr'; readonly pos: Pos; readonly expr: Expr }
  | {
      readonly kind: 'let';
      readonly pos: Pos;
      readonly name: string;
      readonly isConst: boolean;
      readonly value?: Expr;
    }
  | {
      readonly kind: 'assign';
      readonly pos: Pos;
      readonly op: string;
      readonly target: Expr;
      readonly value: Expr;
    }
  | {
      readonly kind: 'try';
      readonly pos: Pos;
      readonly body: Expr;
      readonly catchVar?: string;
      readonly handler: Expr;
    }
  | { readonly kind: 'noop'; readonly pos: Pos };

/** The statement node of one kind, e.g. `StmtOf<'assign'>`. */
export type StmtOf<K extends Stmt['kind']> = Extract<Stmt, { readonly kind: K }>;

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
