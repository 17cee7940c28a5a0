import type { RhaiErrorKind } from './error-kinds';
import type { Value } from './values';

/** Source position (1-based line and column counted in characters). 0/0 = none. */
export interface Pos {
  readonly line: number;
  readonly pos: number;
}
export const NO_POS: Pos = { line: 0, pos: 0 };

export function posSuffix(p: Pos): string {
  return p.line > 0 ? ` (line ${p.line}, position ${p.pos})` : '';
}

/** Error kinds that try/catch cannot intercept (mirrors Rhai's "system exceptions"). */
const SYSTEM_KINDS: ReadonlySet<RhaiErrorKind> = new Set<RhaiErrorKind>([
  'ErrorParsing',
  'ErrorTooManyOperations',
  'ErrorStackOverflow',
  'ErrorDataTooLarge',
  'ErrorTerminated',
]);

/**
 * Internal error raised during evaluation. Deliberately not an `Error` subclass: no stack
 * capture, so throwing is cheap. Converted to a plain RhaiError at the API boundary.
 */
export class RhaiFailure {
  constructor(
    readonly kind: RhaiErrorKind,
    /** message without position */
    readonly detail: string,
    public pos: Pos = NO_POS,
    /** value carried by `throw` (ErrorRuntime) */
    readonly value?: Value,
    /** wrapped error (ErrorInFunctionCall) */
    readonly inner?: RhaiFailure,
    /** function name (ErrorInFunctionCall) */
    readonly fnName?: string,
  ) {}

  get isSystem(): boolean {
    return SYSTEM_KINDS.has(this.kind);
  }

  /** Message as Rhai displays it, position included. */
  get message(): string {
    if (this.kind === 'ErrorInFunctionCall' && this.inner) {
      const where = this.fnName!.startsWith('anon$')
        ? 'in closure call'
        : `in call to function '${this.fnName}'`;
      return `${this.inner.message}\n${where}${posSuffix(this.pos)}`;
    }
    if (this.kind === 'ErrorParsing') return `Syntax error: ${this.detail}${posSuffix(this.pos)}`;
    return this.detail + posSuffix(this.pos);
  }

  /** Fill in a position if none is set yet. */
  at(p: Pos): this {
    if (this.pos.line === 0) this.pos = p;
    return this;
  }
}

export function fail(kind: RhaiErrorKind, detail: string, pos: Pos = NO_POS): RhaiFailure {
  return new RhaiFailure(kind, detail, pos);
}

export function parseError(code: string, detail: string, pos: Pos): RhaiFailure {
  const f = new RhaiFailure('ErrorParsing', detail, pos);
  (f as { parseCode?: string }).parseCode = code;
  return f;
}

/** Control-flow signals (not errors): thrown and caught by loops / function calls. */
export class BreakSignal {
  constructor(readonly value: Value) {}
}
export class ContinueSignal {}
export class ReturnSignal {
  constructor(readonly value: Value) {}
}
export const CONTINUE = new ContinueSignal();
