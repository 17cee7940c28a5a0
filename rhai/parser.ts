import type { BinaryOp, Expr, FnDef, Script, Stmt, SwitchCase } from './ast';
import { parseError, type Pos, type RhaiFailure } from './errors';
import { FN_KEYWORDS, KEYWORDS, Lexer, RESERVED_SYMBOLS, RESERVED_WORDS, type Token } from './lexer';

/** Limits the parser enforces (expression depth, literal sizes). 0 = unlimited. */
export interface ParseLimits {
  readonly maxExprDepth: number;
  readonly maxFunctionExprDepth: number;
  readonly maxStringSize: number;
  readonly maxArraySize: number;
  readonly maxMapSize: number;
}

const BINARY_PREC: Record<string, number> = {
  '||': 30,
  '|': 30,
  '^': 30,
  '&&': 60,
  '&': 60,
  '==': 90,
  '!=': 90,
  in: 110,
  '!in': 110,
  '<': 130,
  '<=': 130,
  '>': 130,
  '>=': 130,
  '??': 135,
  '..': 140,
  '..=': 140,
  '+': 150,
  '-': 150,
  '*': 180,
  '/': 180,
  '%': 180,
  '**': 190,
  '<<': 210,
  '>>': 210,
};

const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '**=', '<<=', '>>=', '&=', '|=', '^=']);
const BLOCK_EXPRS = new Set(['if', 'switch', 'while', 'do', 'for', 'block']);
const LITERAL_KINDS = new Set(['int', 'float', 'str', 'char', 'bool', 'unit', 'interp', 'array', 'map']);

function literalDesc(e: Expr): string | undefined {
  switch (e.kind) {
    case 'int':
      return 'a number';
    case 'float':
      return 'a float';
    case 'str':
    case 'interp':
      return 'a string';
    case 'char':
      return 'a character';
    case 'unit':
      return '()';
    case 'array':
      return 'an array';
    case 'map':
      return 'an object map';
    case 'bool':
    case 'and':
    case 'or':
      return 'a boolean';
  }
  return undefined;
}

interface Ctx {
  inFn: boolean;
  inClosure: boolean;
  loops: number;
  maxDepth: number;
  /** innermost last: name → is constant */
  scopes: Map<string, boolean>[];
}

/** Recursive-descent parser producing a {@link Script}. Throws RhaiFailure (ErrorParsing). */
export class Parser {
  private readonly toks: Token[];
  private i = 0;
  private depth = 0;
  private ctx: Ctx;
  private readonly fns: FnDef[] = [];
  private readonly fnKeys = new Set<string>();

  constructor(
    source: string | Token[],
    private readonly limits: ParseLimits,
  ) {
    this.toks = typeof source === 'string' ? new Lexer(source, limits.maxStringSize).tokenize() : source;
    this.ctx = {
      inFn: false,
      inClosure: false,
      loops: 0,
      maxDepth: limits.maxExprDepth,
      scopes: [new Map()],
    };
  }

  parseScript(): Script {
    const stmts = this.parseStmts(true);
    return { stmts, fns: this.fns };
  }

  // ---------- token helpers ----------

  private peek(o = 0): Token {
    const t = this.toks[Math.min(this.i + o, this.toks.length - 1)];
    if (t.kind === 'err' && o === 0) throw t.err!;
    return t;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private is(s: string, o = 0): boolean {
    const t = this.peek(o);
    return (t.kind === 'op' || t.kind === 'kw') && t.text === s && t.num === undefined;
  }
  private eat(s: string): boolean {
    if (this.is(s)) {
      this.next();
      return true;
    }
    return false;
  }
  private expect(s: string, code = 'MissingToken', what?: string): Token {
    const t = this.peek();
    if (this.is(s)) return this.next();
    throw this.unexpected(t, code, what ?? `Expecting '${s}'`);
  }
  private pos(t: Token): Pos {
    return { line: t.line, pos: t.pos };
  }
  private unexpected(t: Token, code: string, detail: string): RhaiFailure {
    if (t.kind === 'err') return t.err!;
    if (
      (t.kind === 'op' && RESERVED_SYMBOLS.has(t.text)) ||
      (t.kind === 'ident' && RESERVED_WORDS.has(t.text))
    ) {
      return parseError('Reserved', `'${t.text}' is a reserved keyword/symbol`, this.pos(t));
    }
    if (t.kind === 'eof' && code === 'UnexpectedInput')
      return parseError('UnexpectedEOF', 'Script is incomplete', this.pos(t));
    return parseError(code, detail, this.pos(t));
  }
  private enter(p: Pos): void {
    if (++this.depth > this.ctx.maxDepth && this.ctx.maxDepth > 0) {
      throw parseError('ExprTooDeep', 'Expression exceeds maximum complexity', p);
    }
  }
  private leave(): void {
    this.depth--;
  }

  private declare(name: string, isConst: boolean): void {
    this.ctx.scopes[this.ctx.scopes.length - 1].set(name, isConst);
  }
  private isConstVar(name: string): boolean {
    for (let s = this.ctx.scopes.length - 1; s >= 0; s--) {
      const c = this.ctx.scopes[s].get(name);
      if (c !== undefined) return c;
    }
    return false;
  }

  /** An identifier usable as a variable/parameter name. */
  private varName(): string {
    const t = this.peek();
    if (t.kind === 'ident') {
      if (RESERVED_WORDS.has(t.text)) throw this.unexpected(t, 'Reserved', '');
      this.next();
      if (t.num === -1)
        throw parseError('MalformedIdentifier', `Variable name is not proper: ${t.text}`, this.pos(t));
      return t.text;
    }
    if (t.kind === 'kw') throw parseError('Reserved', `'${t.text}' is a reserved keyword`, this.pos(t));
    throw this.unexpected(t, 'VariableExpected', 'Expecting name of a variable');
  }

  // ---------- statements ----------

  private parseStmts(topLevel: boolean): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') {
        if (!topLevel) throw parseError('MissingRightBrace', "Expecting '}' to end this block", this.pos(t));
        return out;
      }
      if (!topLevel && this.is('}')) return out;
      if (this.is(';')) {
        this.next();
        continue;
      }
      if (this.is('fn')) {
        if (!topLevel || this.ctx.inFn || this.ctx.inClosure) {
          throw parseError(
            'WrongFnDefinition',
            'Function definitions must be at global level and cannot be inside a block or another function',
            this.pos(t),
          );
        }
        this.parseFnDef();
        continue;
      }
      const s = this.parseStmt();
      out.push(s);
      if (this.eat(';')) continue;
      if (this.endsWithBlock(s)) continue;
      const n = this.peek();
      if (n.kind === 'eof' || this.is('}')) continue;
      throw this.unexpected(n, 'MissingSemicolon', "Expecting ';' to terminate this statement");
    }
  }

  private endsWithBlock(s: Stmt): boolean {
    if (s.kind === 'try') return true;
    if (s.kind === 'expr') return BLOCK_EXPRS.has(s.expr.kind) && s.expr.kind !== 'do';
    return false;
  }

  /** Parse one statement (without its terminating `;`). */
  parseStmt(): Stmt {
    const t = this.peek();
    const p = this.pos(t);
    this.enter(p);
    try {
      if (t.kind === 'kw') {
        switch (t.text) {
          case 'let':
          case 'const': {
            this.next();
            const name = this.varName();
            let value: Expr | undefined;
            if (this.eat('=')) value = this.parseExpr();
            this.declare(name, t.text === 'const');
            return { kind: 'let', pos: p, name, isConst: t.text === 'const', value };
          }
          case 'try':
            return this.parseTry(p);
          case 'if':
          case 'switch':
          case 'while':
          case 'loop':
          case 'do':
          case 'for':
            return { kind: 'expr', pos: p, expr: this.parsePrimaryKeyword() };
          case 'fn':
            throw parseError(
              'WrongFnDefinition',
              'Function definitions must be at global level and cannot be inside a block or another function',
              p,
            );
        }
      }
      if (this.is('{')) return { kind: 'expr', pos: p, expr: this.parseBlock() };
      const e = this.parseExpr();
      const a = this.peek();
      if (a.kind === 'op' && ASSIGN_OPS.has(a.text)) {
        this.checkAssignable(e);
        this.next();
        const value = this.parseExpr();
        return { kind: 'assign', pos: this.pos(a), op: a.text, target: e, value };
      }
      return { kind: 'expr', pos: p, expr: e };
    } finally {
      this.leave();
    }
  }

  private checkAssignable(e: Expr): void {
    switch (e.kind) {
      case 'var':
        if (this.isConstVar(e.name))
          throw parseError('AssignmentToConstant', `Cannot assign to constant ${e.name}`, e.pos);
        return;
      case 'this':
        return;
      case 'index':
      case 'prop': {
        let root: Expr = e;
        while (root.kind === 'index' || root.kind === 'prop') root = root.target;
        if (root.kind === 'var' || root.kind === 'this') return;
        if (root.kind === 'method' || root.kind === 'call')
          throw parseError('AssignmentToInvalidLHS', 'Expression cannot be assigned to', root.pos);
        throw parseError('AssignmentToInvalidLHS', 'Expression cannot be assigned to', e.pos);
      }
    }
    if (LITERAL_KINDS.has(e.kind))
      throw parseError('AssignmentToConstant', 'Cannot assign to a constant value', e.pos);
    throw parseError('AssignmentToInvalidLHS', 'Expression cannot be assigned to', e.pos);
  }

  private parseTry(p: Pos): Stmt {
    this.next();
    const body = this.parseBlock();
    this.expect('catch', 'MissingToken', "Expecting 'catch' after a try block");
    let catchVar: string | undefined;
    this.ctx.scopes.push(new Map());
    try {
      if (this.eat('(')) {
        catchVar = this.varName();
        this.declare(catchVar, false);
        this.expect(')');
      }
      const handler = this.parseBlock();
      return { kind: 'try', pos: p, body, catchVar, handler };
    } finally {
      this.ctx.scopes.pop();
    }
  }

  private parseFnDef(): void {
    const fnTok = this.next();
    const nameTok = this.peek();
    if (nameTok.kind !== 'ident' || nameTok.num === -1 || RESERVED_WORDS.has(nameTok.text)) {
      if (nameTok.kind === 'ident' && RESERVED_WORDS.has(nameTok.text))
        throw this.unexpected(nameTok, 'Reserved', '');
      throw parseError('FnMissingName', 'Expecting function name in function declaration', this.pos(nameTok));
    }
    this.next();
    const name = nameTok.text;
    this.expect('(', 'FnMissingParams', `Expecting parameters for function '${name}'`);
    const params: string[] = [];
    while (!this.is(')')) {
      const pt = this.peek();
      const pn = this.varName();
      if (params.includes(pn))
        throw parseError(
          'FnDuplicatedParam',
          `Duplicated parameter ${pn} for function ${name}`,
          this.pos(pt),
        );
      params.push(pn);
      if (!this.eat(',')) break;
    }
    this.expect(')', 'MissingToken', "Expecting ')'");
    const key = `${name}/${params.length}`;
    if (this.fnKeys.has(key)) {
      throw parseError(
        'FnDuplicatedDefinition',
        `Function ${name} with ${params.length} parameter${params.length === 1 ? '' : 's'} already exists`,
        this.pos(nameTok),
      );
    }
    this.fnKeys.add(key);
    if (!this.is('{'))
      throw this.unexpected(
        this.peek(),
        'FnMissingBody',
        `Expecting body statement block for function '${name}'`,
      );
    const saved = this.ctx;
    const savedDepth = this.depth;
    this.ctx = {
      inFn: true,
      inClosure: false,
      loops: 0,
      maxDepth: this.limits.maxFunctionExprDepth,
      scopes: [new Map(params.map((n) => [n, false]))],
    };
    this.depth = 0;
    try {
      const body = this.parseBlock();
      this.fns.push({ name, params, body, pos: this.pos(fnTok) });
    } finally {
      this.ctx = saved;
      this.depth = savedDepth;
    }
  }

  // ---------- expressions ----------

  parseExpr(): Expr {
    const t = this.peek();
    this.enter(this.pos(t));
    try {
      return this.parseBinary(0);
    } finally {
      this.leave();
    }
  }

  private binaryOpAt(): { op: string; len: number } | undefined {
    const t = this.peek();
    if (t.kind === 'op' && t.num === undefined && BINARY_PREC[t.text] !== undefined)
      return { op: t.text, len: 1 };
    if (t.kind === 'kw' && t.text === 'in') return { op: 'in', len: 1 };
    if (t.kind === 'op' && t.text === '!' && this.peek(1).kind === 'kw' && this.peek(1).text === 'in')
      return { op: '!in', len: 2 };
    return undefined;
  }

  private canStartExpr(t: Token): boolean {
    if (t.kind === 'eof') return false;
    if (t.kind === 'op')
      return (
        !['}', ')', ']', ',', ';', '=>', '=', ':'].includes(t.text) &&
        !['+=', '-=', '*=', '/='].includes(t.text)
      );
    if (t.kind === 'kw') return !['in', 'else', 'catch'].includes(t.text);
    return true;
  }

  private parseBinary(minPrec: number): Expr {
    let lhs = this.parseUnary();
    const saved = this.depth;
    try {
      for (;;) {
        const o = this.binaryOpAt();
        if (!o) return lhs;
        const prec = BINARY_PREC[o.op];
        if (prec < minPrec) return lhs;
        const opTok = this.peek();
        const p = this.pos(opTok);
        this.enter(p);
        for (let k = 0; k < o.len; k++) this.next();
        if (o.op === '..' || o.op === '..=') {
          const to = this.canStartExpr(this.peek()) ? this.parseBinary(prec + 1) : undefined;
          lhs = { kind: 'range', pos: p, from: lhs, to, inclusive: o.op === '..=' };
          continue;
        }
        const rhs = this.parseBinary(o.op === '**' ? prec : prec + 1);
        lhs = this.makeBinary(o.op, lhs, rhs, p);
      }
    } finally {
      this.depth = saved;
    }
  }

  private checkBoolOperand(e: Expr): void {
    if (LITERAL_KINDS.has(e.kind) && e.kind !== 'bool') {
      throw parseError('MismatchedType', `Expecting a boolean expression, not ${literalDesc(e)}`, e.pos);
    }
  }

  private makeBinary(op: string, l: Expr, r: Expr, pos: Pos): Expr {
    if (op === '&&' || op === '||') {
      this.checkBoolOperand(l);
      this.checkBoolOperand(r);
      return { kind: op === '&&' ? 'and' : 'or', pos, left: l, right: r };
    }
    if (op === '??') return { kind: 'coalesce', pos, left: l, right: r };
    return { kind: 'binary', pos, op: op as BinaryOp, left: l, right: r };
  }

  private parseUnary(): Expr {
    const t = this.peek();
    const p = this.pos(t);
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '!') && t.num === undefined) {
      this.enter(p);
      try {
        this.next();
        if (t.text === '-') {
          const n = this.peek();
          // Fold the minus into a numeric literal (so i64::MIN is writable).
          if (n.kind === 'int' || (n.kind === 'float' && n.bigDec !== undefined)) {
            const v = -(n.kind === 'int' ? n.int! : n.bigDec!);
            if (v >= -9223372036854775808n) {
              this.next();
              const lit: Expr = { kind: 'int', pos: p, value: normInt(v) };
              return this.parsePostfix(lit);
            }
          }
        }
        const e = this.parseUnary();
        return { kind: 'unary', pos: p, op: t.text as '-' | '+' | '!', operand: e };
      } finally {
        this.leave();
      }
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(e: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') return e;
      if (t.text === '.' || t.text === '?.') {
        this.next();
        const safe = t.text === '?.';
        const n = this.peek();
        const nameOk = n.kind === 'ident' || (n.kind === 'kw' && FN_KEYWORDS.has(n.text) && this.is('(', 1));
        if (!nameOk || n.num === -1) {
          if (n.kind === 'kw') throw parseError('Reserved', `'${n.text}' is a reserved keyword`, this.pos(n));
          throw parseError('PropertyExpected', 'Expecting name of a property', this.pos(n));
        }
        this.next();
        if (this.is('(')) {
          const args = this.parseArgs();
          e = { kind: 'method', pos: this.pos(n), target: e, name: n.text, args, safe };
        } else {
          e = { kind: 'prop', pos: this.pos(n), target: e, name: n.text, safe };
        }
        continue;
      }
      if (t.text === '[' || t.text === '?[') {
        this.next();
        const idxTok = this.peek();
        const index = this.parseExpr();
        this.expect(']', 'MissingToken', "Expecting ']'");
        this.checkIndex(e, index, t.text === '?[');
        e = { kind: 'index', pos: this.pos(idxTok), target: e, index, safe: t.text === '?[' };
        continue;
      }
      return e;
    }
  }

  private checkIndex(target: Expr, index: Expr, safe: boolean): void {
    if (safe) return;
    const desc = literalDesc(index);
    if (!desc || index.kind === 'array' || index.kind === 'map') return;
    if (target.kind === 'map') {
      if (index.kind !== 'str' && index.kind !== 'interp')
        throw parseError('MalformedIndexExpr', `Object map expects string index, not ${desc}`, index.pos);
      return;
    }
    if (['int', 'array', 'str', 'interp'].includes(target.kind)) {
      if (index.kind === 'int') return;
      const what = index.kind === 'str' || index.kind === 'interp' ? 'numeric' : 'integer';
      throw parseError(
        'MalformedIndexExpr',
        `Array, string or bit-field expects ${what} index, not ${desc}`,
        index.pos,
      );
    }
  }

  private parseArgs(): Expr[] {
    this.expect('(');
    const args: Expr[] = [];
    while (!this.is(')')) {
      args.push(this.parseExpr());
      if (!this.eat(',')) break;
    }
    this.expect(')', 'MissingToken', "Expecting ')' to close the argument list");
    return args;
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    const p = this.pos(t);
    switch (t.kind) {
      case 'int':
        this.next();
        return { kind: 'int', pos: p, value: normInt(t.int!) };
      case 'float':
        this.next();
        return { kind: 'float', pos: p, value: t.num! };
      case 'str':
        this.next();
        return { kind: 'str', pos: p, value: t.text };
      case 'char':
        this.next();
        return { kind: 'char', pos: p, value: t.text };
      case 'istr':
        this.next();
        return this.interp(t);
      case 'ident': {
        if (RESERVED_WORDS.has(t.text)) throw this.unexpected(t, 'Reserved', '');
        if (t.num === -1)
          throw parseError('MalformedIdentifier', `Variable name is not proper: ${t.text}`, p);
        this.next();
        if (this.is('(')) return { kind: 'call', pos: p, name: t.text, args: this.parseArgs() };
        return { kind: 'var', pos: p, name: t.text };
      }
      case 'kw':
        return this.parsePrimaryKeyword();
      case 'eof':
        throw this.unexpected(t, 'UnexpectedInput', 'Script is incomplete');
    }
    if (t.num === -2) throw parseError('UnexpectedInput', `Unexpected '${t.text}'`, p);
    switch (t.text) {
      case '(': {
        this.next();
        const close = this.peek();
        if (this.is(')')) {
          if (close.line !== t.line || close.pos !== t.pos + 1)
            throw parseError('UnexpectedInput', "Unexpected ')'", this.pos(close));
          this.next();
          return { kind: 'unit', pos: p };
        }
        this.enter(p);
        try {
          const e = this.parseExpr();
          this.expect(')', 'MissingToken', "Expecting ')' to close the parenthesis");
          return e;
        } finally {
          this.leave();
        }
      }
      case '[':
        return this.parseArray();
      case '#{':
        return this.parseMap();
      case '{':
        return this.parseBlock();
      case '|':
      case '||':
        return this.parseClosure();
      case '..':
      case '..=': {
        this.next();
        const to = this.canStartExpr(this.peek()) ? this.parseBinary(141) : undefined;
        return { kind: 'range', pos: p, from: undefined, to, inclusive: t.text === '..=' };
      }
    }
    throw this.unexpected(t, 'UnexpectedInput', `Unexpected '${t.text}'`);
  }

  private interp(t: Token): Expr {
    const parts: Expr[] = [];
    const p = this.pos(t);
    t.parts!.forEach((part, n) => {
      if (typeof part === 'string') {
        parts.push({ kind: 'str', pos: t.partPos![n], value: part });
        return;
      }
      const sub = new Parser(part, this.limits);
      sub.ctx = this.ctx;
      sub.depth = this.depth;
      const e = sub.parseExpr();
      if (sub.peek().kind !== 'eof') throw sub.unexpected(sub.peek(), 'MissingToken', "Expecting '}'");
      parts.push(e);
    });
    if (
      parts.length === 1 &&
      parts[0].kind === 'str' &&
      t.parts!.length === 1 &&
      typeof t.parts![0] === 'string'
    ) {
      return { kind: 'str', pos: p, value: parts[0].value };
    }
    if (parts.length === 0) return { kind: 'str', pos: p, value: '' };
    return { kind: 'interp', pos: p, parts };
  }

  private parseArray(): Expr {
    const open = this.next();
    const items: Expr[] = [];
    const max = this.limits.maxArraySize;
    while (!this.is(']')) {
      // Rhai quirk: a literal with exactly `max` elements is already rejected.
      if (max > 0 && items.length >= max) {
        throw parseError(
          'LiteralTooLarge',
          `Size of array literal exceeds the maximum limit (${max})`,
          this.pos(this.peek()),
        );
      }
      items.push(this.parseExpr());
      if (!this.eat(',')) break;
    }
    if (max > 0 && items.length >= max) {
      throw parseError(
        'LiteralTooLarge',
        `Size of array literal exceeds the maximum limit (${max})`,
        this.pos(this.peek()),
      );
    }
    this.expect(']', 'MissingToken', "Expecting ']' to end this array literal");
    return { kind: 'array', pos: this.pos(open), items };
  }

  private parseMap(): Expr {
    const open = this.next();
    const entries: [string, Expr][] = [];
    const seen = new Set<string>();
    while (!this.is('}')) {
      const kt = this.peek();
      let key: string;
      if (kt.kind === 'ident' && kt.num === undefined && !RESERVED_WORDS.has(kt.text)) key = kt.text;
      else if (kt.kind === 'str') key = kt.text;
      else if (kt.kind === 'istr' && kt.parts!.every((x) => typeof x === 'string'))
        key = (kt.parts as string[]).join('');
      else if (kt.kind === 'kw' || (kt.kind === 'ident' && RESERVED_WORDS.has(kt.text)))
        throw parseError('Reserved', `'${kt.text}' is a reserved keyword`, this.pos(kt));
      else throw parseError('PropertyExpected', 'Expecting name of a property', this.pos(kt));
      this.next();
      if (seen.has(key))
        throw parseError(
          'DuplicatedProperty',
          `Duplicated property '${key}' for object map literal`,
          this.pos(kt),
        );
      seen.add(key);
      this.expect(':', 'MissingToken', "Expecting ':'");
      entries.push([key, this.parseExpr()]);
      const max = this.limits.maxMapSize;
      if (max > 0 && entries.length > max) {
        throw parseError(
          'LiteralTooLarge',
          `Number of properties in object map literal exceeds the maximum limit (${max})`,
          this.pos(kt),
        );
      }
      if (!this.eat(',')) break;
    }
    this.expect('}', 'MissingToken', "Expecting '}' to end this object map literal");
    return { kind: 'map', pos: this.pos(open), entries };
  }

  private parseBlock(): Expr {
    const open = this.peek();
    const p = this.pos(open);
    this.expect('{', 'MissingLeftBrace', "Expecting '{'");
    this.enter(p);
    this.ctx.scopes.push(new Map());
    try {
      const body = this.parseStmts(false);
      this.expect('}', 'MissingRightBrace', "Expecting '}'");
      return { kind: 'block', pos: p, body };
    } finally {
      this.ctx.scopes.pop();
      this.leave();
    }
  }

  private loopBody(): Expr {
    this.ctx.loops++;
    try {
      return this.parseBlock();
    } finally {
      this.ctx.loops--;
    }
  }

  private parseCond(): Expr {
    const c = this.parseExpr();
    this.checkBoolOperand(c);
    return c;
  }

  private parseClosure(): Expr {
    const t = this.next();
    const p = this.pos(t);
    const params: string[] = [];
    if (t.text === '|') {
      while (!this.is('|')) {
        const pt = this.peek();
        const n = this.varName();
        if (params.includes(n))
          throw parseError(
            'FnDuplicatedParam',
            `Duplicated parameter ${n} for function anonymous`,
            this.pos(pt),
          );
        params.push(n);
        if (!this.eat(',')) break;
      }
      this.expect('|', 'MissingToken', "Expecting '|'");
    }
    const saved = this.ctx;
    this.ctx = {
      inFn: saved.inFn,
      inClosure: true,
      loops: 0,
      maxDepth: saved.maxDepth,
      scopes: [...saved.scopes, new Map(params.map((n) => [n, false]))],
    };
    try {
      const s = this.parseStmt();
      const body: Expr = s.kind === 'expr' ? s.expr : { kind: 'block', pos: s.pos, body: [s] };
      return { kind: 'closure', pos: p, fn: { name: '', params, body, pos: p } };
    } finally {
      this.ctx = saved;
    }
  }

  private parsePrimaryKeyword(): Expr {
    const t = this.peek();
    const p = this.pos(t);
    switch (t.text) {
      case 'true':
      case 'false':
        this.next();
        return { kind: 'bool', pos: p, value: t.text === 'true' };
      case 'this':
        this.next();
        if (!this.ctx.inFn && !this.ctx.inClosure)
          throw parseError('UnexpectedInput', "'this' can only be used in functions", p);
        return { kind: 'this', pos: p };
      case 'if': {
        this.next();
        const cond = this.parseCond();
        const then = this.parseBlock();
        let els: Expr | undefined;
        if (this.eat('else')) els = this.is('if') ? this.parsePrimaryKeyword() : this.parseBlock();
        return { kind: 'if', pos: p, cond, then, else: els };
      }
      case 'while': {
        this.next();
        const cond = this.parseCond();
        return { kind: 'while', pos: p, cond, body: this.loopBody() };
      }
      case 'loop':
        this.next();
        return { kind: 'while', pos: p, cond: undefined, body: this.loopBody() };
      case 'do': {
        this.next();
        const body = this.loopBody();
        const w = this.peek();
        if (!this.is('while') && !this.is('until'))
          throw this.unexpected(w, 'MissingToken', "Expecting 'while' or 'until'");
        this.next();
        const cond = this.parseCond();
        return { kind: 'do', pos: p, cond, until: w.text === 'until', body };
      }
      case 'for':
        return this.parseFor(p);
      case 'switch':
        return this.parseSwitch(p);
      case 'break':
      case 'continue': {
        this.next();
        if (this.ctx.loops === 0)
          throw parseError(
            'LoopBreak',
            `${t.text === 'break' ? 'Break' : 'Continue'} statement should only be used inside a loop`,
            p,
          );
        if (t.text === 'continue') return { kind: 'continue', pos: p };
        const value = this.canStartExpr(this.peek()) ? this.parseExpr() : undefined;
        return { kind: 'break', pos: p, value };
      }
      case 'return':
      case 'throw': {
        this.next();
        const value = this.canStartExpr(this.peek()) ? this.parseExpr() : undefined;
        return t.text === 'return' ? { kind: 'return', pos: p, value } : { kind: 'throw', pos: p, value };
      }
    }
    if (FN_KEYWORDS.has(t.text)) {
      this.next();
      if (!this.is('(')) throw parseError('UnexpectedInput', `'${t.text}' cannot be used as a variable`, p);
      const args = this.parseArgs();
      if (t.text === 'Fn' && args.length === 1 && args[0].kind === 'str' && KEYWORDS.has(args[0].value)) {
        throw parseError('Reserved', `'${args[0].value}' is a reserved keyword`, args[0].pos);
      }
      return { kind: 'call', pos: p, name: t.text, args };
    }
    throw parseError('Reserved', `'${t.text}' is a reserved keyword`, p);
  }

  private parseFor(p: Pos): Expr {
    this.next();
    let name: string;
    let counter: string | undefined;
    if (this.eat('(')) {
      name = this.varName();
      this.expect(',');
      counter = this.varName();
      this.expect(')');
    } else name = this.varName();
    this.expect('in', 'MissingToken', "Expecting 'in'");
    const iter = this.parseExpr();
    if (['int', 'float', 'bool', 'char', 'unit', 'map'].includes(iter.kind)) {
      throw parseError('MismatchedType', `Expecting an iterable, not ${literalDesc(iter)}`, iter.pos);
    }
    this.ctx.scopes.push(new Map([[name, false]]));
    if (counter) this.declare(counter, false);
    try {
      return { kind: 'for', pos: p, name, counter, iter, body: this.loopBody() };
    } finally {
      this.ctx.scopes.pop();
    }
  }

  private parseSwitch(p: Pos): Expr {
    this.next();
    const subject = this.parseExpr();
    this.expect('{', 'MissingLeftBrace', "Expecting '{' for switch");
    const cases: SwitchCase[] = [];
    let def: Expr | undefined;
    let sawRange = false;
    while (!this.is('}')) {
      const t = this.peek();
      if (def !== undefined)
        throw parseError('WrongSwitchDefaultCase', 'Default switch case must be the last', this.pos(t));
      let body: Expr;
      if (this.is('_')) {
        this.next();
        if (this.is('if'))
          throw parseError(
            'WrongSwitchCaseCondition',
            'This switch case cannot have a condition',
            this.pos(this.peek()),
          );
        this.expect('=>', 'MissingToken', "Expecting '=>'");
        body = this.parseCaseBody();
        def = body;
      } else {
        const labels: Expr[] = [];
        for (;;) {
          const l = this.parseBinary(31);
          this.checkCaseLabel(l);
          if (l.kind === 'range') sawRange = true;
          else if (sawRange && (l.kind === 'int' || l.kind === 'float')) {
            throw parseError(
              'WrongSwitchIntegerCase',
              'Numeric switch case cannot follow a range case',
              l.pos,
            );
          }
          labels.push(l);
          if (!this.eat('|')) break;
        }
        let guard: Expr | undefined;
        if (this.eat('if')) guard = this.parseCond();
        this.expect('=>', 'MissingToken', "Expecting '=>'");
        body = this.parseCaseBody();
        for (const label of labels) cases.push({ pos: label.pos, label, guard, body });
      }
      if (this.eat(',')) continue;
      if (body.kind === 'block') continue;
      if (!this.is('}'))
        throw this.unexpected(this.peek(), 'MissingToken', "Expecting ',' to separate switch cases");
    }
    this.expect('}');
    return { kind: 'switch', pos: p, subject, cases, otherwise: def };
  }

  private parseCaseBody(): Expr {
    const s = this.parseStmt();
    if (s.kind !== 'expr') throw parseError('UnexpectedInput', 'Expecting an expression', s.pos);
    return s.expr;
  }

  private checkCaseLabel(e: Expr): void {
    const ok = (x: Expr): boolean => {
      switch (x.kind) {
        case 'int':
        case 'float':
        case 'str':
        case 'char':
        case 'bool':
        case 'unit':
          return true;
        case 'unary':
          return (x.op === '-' || x.op === '+') && (x.operand.kind === 'int' || x.operand.kind === 'float');
        case 'array':
          return x.items.every(ok);
        case 'map':
          return x.entries.every(([, v]) => ok(v));
        case 'range':
          return (!x.from || ok(x.from)) && (!x.to || ok(x.to));
      }
      return false;
    };
    if (!ok(e)) throw parseError('ExprExpected', 'Expecting a constant', e.pos);
  }
}

function normInt(v: bigint): number | bigint {
  return v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v;
}

/** Parse a whole script. */
export function parseScript(source: string, limits: ParseLimits): Script {
  return new Parser(source, limits).parseScript();
}
