import { parseError, type Pos, type RhaiFailure } from './errors';
import { byteLength } from './values';
import { FN_KEYWORDS, KEYWORDS } from './keywords';

export { FN_KEYWORDS, KEYWORDS };

/** A lexical token. `parts` holds the pieces of a back-tick string (text or nested tokens). */
export interface Token {
  readonly kind: 'int' | 'float' | 'str' | 'istr' | 'char' | 'ident' | 'kw' | 'op' | 'eof' | 'err';
  /** identifier / keyword / operator text, or string/char contents */
  readonly text: string;
  readonly line: number;
  readonly pos: number;
  /** int value (i64) */
  readonly int?: bigint;
  /** float value; `bigDec` when a decimal int literal overflowed into a float */
  readonly num?: number;
  readonly bigDec?: bigint;
  readonly parts?: readonly (string | Token[])[];
  readonly err?: RhaiFailure;
  /** column of each back-tick string part start (for size errors) */
  readonly partPos?: readonly Pos[];
}

export const RESERVED_WORDS = new Set([
  'var',
  'static',
  'shared',
  'goto',
  'match',
  'case',
  'public',
  'protected',
  'new',
  'use',
  'with',
  'is',
  'module',
  'package',
  'super',
  'thread',
  'spawn',
  'go',
  'await',
  'async',
  'sync',
  'yield',
  'default',
  'void',
  'null',
  'nil',
]);
export const RESERVED_SYMBOLS = new Set([
  '~',
  '++',
  '--',
  '...',
  '?',
  '#',
  '@',
  '$',
  '->',
  '<-',
  '<|',
  '|>',
  '===',
  '!==',
  ':=',
  ':;',
  '::<',
  '#!',
  '(*',
  '*)',
]);

const OPS3 = ['**=', '<<=', '>>=', '..=', '...', '===', '!==', '::<'];
const OPS2 = [
  '**',
  '<<',
  '>>',
  '&&',
  '||',
  '==',
  '!=',
  '<=',
  '>=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '..',
  '??',
  '?.',
  '?[',
  '::',
  '=>',
  '->',
  '<-',
  '++',
  '--',
  '#{',
  '|>',
  '<|',
  ':=',
  ':;',
  '#!',
  '(*',
  '*)',
];
const OPS1 = '+-*/%&|^!=<>.,;:()[]{}?~@$#';

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
function isAsciiLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}
function isIdentChar(c: string | undefined): boolean {
  return isAsciiLetter(c) || isDigit(c) || c === '_';
}
function isWhitespace(c: string): boolean {
  return (
    c === ' ' ||
    c === '\t' ||
    c === '\n' ||
    c === '\r' ||
    c === '\f' ||
    c === '\v' ||
    c === '\u00a0' ||
    /\s/u.test(c)
  );
}

/** Tokenizer over code points, so columns count characters. */
export class Lexer {
  private readonly cs: string[];
  private i = 0;
  private line = 1;
  private col = 1;

  constructor(
    source: string,
    private readonly maxStringSize: number,
  ) {
    this.cs = Array.from(source);
  }

  /** Tokenize everything (errors become `err` tokens so they surface lazily in the parser). */
  tokenize(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const t = this.next();
      out.push(t);
      if (t.kind === 'eof' || t.kind === 'err') {
        if (t.kind === 'err') out.push({ kind: 'eof', text: '', line: t.line, pos: t.pos });
        return out;
      }
    }
  }

  private peek(o = 0): string | undefined {
    return this.cs[this.i + o];
  }

  private adv(): string {
    const c = this.cs[this.i++];
    if (c === '\n') {
      this.line++;
      this.col = 1;
    } else this.col++;
    return c;
  }

  private errTok(code: string, detail: string, p: Pos): Token {
    return { kind: 'err', text: '', line: p.line, pos: p.pos, err: parseError(code, detail, p) };
  }

  private skipTrivia(): Token | undefined {
    for (;;) {
      const c = this.peek();
      if (c === undefined) return;
      if (isWhitespace(c)) {
        this.adv();
        continue;
      }
      if (c === '/' && this.peek(1) === '/') {
        while (this.peek() !== undefined && this.peek() !== '\n') this.adv();
        continue;
      }
      if (c === '/' && this.peek(1) === '*') {
        this.adv();
        this.adv();
        let depth = 1;
        while (depth > 0 && this.peek() !== undefined) {
          if (this.peek() === '/' && this.peek(1) === '*') {
            this.adv();
            this.adv();
            depth++;
          } else if (this.peek() === '*' && this.peek(1) === '/') {
            this.adv();
            this.adv();
            depth--;
          } else this.adv();
        }
        continue;
      }
      return;
    }
  }

  next(): Token {
    this.skipTrivia();
    const line = this.line;
    const pos = this.col;
    const p: Pos = { line, pos };
    const c = this.peek();
    if (c === undefined) return { kind: 'eof', text: '', line, pos };
    if (isDigit(c)) return this.number(p);
    if (isAsciiLetter(c) || c === '_') {
      let s = '';
      while (isIdentChar(this.peek())) s += this.adv();
      if (s === '_') return { kind: 'op', text: s, line, pos };
      if (s.startsWith('_')) return { kind: 'ident', text: s, line, pos, num: -1 };
      return { kind: KEYWORDS.has(s) ? 'kw' : 'ident', text: s, line, pos };
    }
    if (c === '"') return this.quoted(p);
    if (c === '`') return this.backtick(p);
    if (c === "'") return this.char(p);
    if (c === '#') {
      let n = 0;
      while (this.peek(n) === '#') n++;
      if (this.peek(n) === '"') return this.raw(p, n);
    }
    const three = c + (this.peek(1) ?? '') + (this.peek(2) ?? '');
    for (const ops of [OPS3, OPS2]) {
      for (const op of ops) {
        if (three.startsWith(op)) {
          for (let k = 0; k < op.length; k++) this.adv();
          return { kind: 'op', text: op, line, pos };
        }
      }
    }
    if (OPS1.includes(c)) {
      this.adv();
      return { kind: 'op', text: c, line, pos };
    }
    this.adv();
    // Non-ASCII letters etc.: an unusable token the parser will reject where it appears.
    return { kind: 'op', text: c, line, pos, num: -2 };
  }

  private number(p: Pos): Token {
    const c0 = this.peek();
    const c1 = this.peek(1);
    if (c0 === '0' && c1 && 'xXoObB'.includes(c1)) {
      this.adv();
      this.adv();
      const radix = 'xX'.includes(c1) ? 16 : 'oO'.includes(c1) ? 8 : 2;
      const valid = radix === 16 ? /[0-9a-fA-F_]/ : radix === 8 ? /[0-7_]/ : /[01_]/;
      let digits = '';
      while (this.peek() !== undefined && valid.test(this.peek()!)) digits += this.adv();
      digits = digits.replace(/_/g, '');
      if (isIdentChar(this.peek()) || digits === '') {
        while (isIdentChar(this.peek())) this.adv();
        return this.errTok('MalformedNumber', `Invalid number: '${c0}${c1}${digits}'`, p);
      }
      const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : '0b';
      const big = BigInt(prefix + digits);
      if (big >= 1n << 64n) return this.errTok('LiteralTooLarge', 'Integer literal is too large', p);
      return { kind: 'int', text: prefix + digits, line: p.line, pos: p.pos, int: BigInt.asIntN(64, big) };
    }
    let text = '';
    while (isDigit(this.peek()) || this.peek() === '_') text += this.adv();
    let isFloat = false;
    if (this.peek() === '.' && isDigit(this.peek(1))) {
      isFloat = true;
      text += this.adv();
      while (isDigit(this.peek()) || this.peek() === '_') text += this.adv();
    } else if (this.peek() === '.' && !isIdentChar(this.peek(1)) && this.peek(1) !== '.') {
      isFloat = true;
      this.adv();
    }
    const e = this.peek();
    if (e === 'e' || e === 'E') {
      const s1 = this.peek(1);
      if (isDigit(s1) || ((s1 === '+' || s1 === '-') && isDigit(this.peek(2)))) {
        isFloat = true;
        text += this.adv();
        if (!isDigit(this.peek())) text += this.adv();
        while (isDigit(this.peek()) || this.peek() === '_') text += this.adv();
      }
    }
    const clean = text.replace(/_/g, '');
    if (isFloat) return { kind: 'float', text: clean, line: p.line, pos: p.pos, num: Number(clean) };
    const big = BigInt(clean);
    if (big > 9223372036854775807n)
      return { kind: 'float', text: clean, line: p.line, pos: p.pos, num: Number(clean), bigDec: big };
    return { kind: 'int', text: clean, line: p.line, pos: p.pos, int: big };
  }

  private checkSize(s: string, p: Pos): Token | undefined {
    if (this.maxStringSize > 0 && s.length * 3 > this.maxStringSize && byteLength(s) > this.maxStringSize) {
      return this.errTok(
        'LiteralTooLarge',
        `Length of string exceeds the maximum limit (${this.maxStringSize})`,
        p,
      );
    }
    return undefined;
  }

  private escape(start: Pos, quote: string): string | Token {
    const escPos: Pos = { line: this.line, pos: this.col };
    this.adv(); // backslash
    const c = this.peek();
    if (c === undefined) return this.errTok('UnterminatedString', 'Open string is not terminated', start);
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
    if (c in simple) {
      this.adv();
      return simple[c];
    }
    const len = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (len === 0) {
      void quote;
      return this.errTok('MalformedEscapeSequence', `Invalid escape sequence: '\\${c}'`, escPos);
    }
    this.adv();
    let hex = '';
    for (let k = 0; k < len; k++) {
      const h = this.peek();
      if (h === undefined || !/[0-9a-fA-F]/.test(h)) {
        return this.errTok(
          'MalformedEscapeSequence',
          `Invalid escape sequence: '\\${c}${hex}${h ?? ''}'`,
          escPos,
        );
      }
      hex += this.adv();
    }
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return this.errTok('MalformedEscapeSequence', `Invalid escape sequence: '\\${c}${hex}'`, escPos);
    }
    return String.fromCodePoint(cp);
  }

  private quoted(p: Pos): Token {
    this.adv();
    let s = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) return this.errTok('UnterminatedString', 'Open string is not terminated', p);
      if (c === '"') {
        this.adv();
        // `""` inside a string is an escaped quote
        if (this.peek() === '"') {
          s += this.adv();
          continue;
        }
        break;
      }
      if (c === '\\' && (this.peek(1) === '\n' || (this.peek(1) === '\r' && this.peek(2) === '\n'))) {
        this.adv();
        if (this.peek() === '\r') this.adv();
        this.adv();
        // Rhai quirk: skip up to <column of opening quote> leading whitespace chars.
        for (
          let k = 0;
          k < p.pos && this.peek() !== undefined && this.peek() !== '\n' && isWhitespace(this.peek()!);
          k++
        )
          this.adv();
        continue;
      }
      if (c === '\\') {
        const r = this.escape(p, '"');
        if (typeof r !== 'string') return r;
        s += r;
        continue;
      }
      if (c === '\n') return this.errTok('UnterminatedString', 'Open string is not terminated', p);
      s += this.adv();
    }
    return this.checkSize(s, p) ?? { kind: 'str', text: s, line: p.line, pos: p.pos };
  }

  private raw(p: Pos, hashes: number): Token {
    for (let k = 0; k <= hashes; k++) this.adv();
    let s = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) return this.errTok('UnterminatedString', 'Open string is not terminated', p);
      if (c === '"') {
        let n = 0;
        while (n < hashes && this.peek(1 + n) === '#') n++;
        if (n === hashes) {
          for (let k = 0; k <= hashes; k++) this.adv();
          break;
        }
      }
      s += this.adv();
    }
    return this.checkSize(s, p) ?? { kind: 'str', text: s, line: p.line, pos: p.pos };
  }

  private char(p: Pos): Token {
    this.adv();
    let s = '';
    let count = 0;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '\n') return this.errTok('MalformedChar', `Invalid character: '${s}'`, p);
      if (c === "'") {
        this.adv();
        break;
      }
      if (c === '\\') {
        const r = this.escape(p, "'");
        if (typeof r !== 'string') return r;
        s += r;
      } else s += this.adv();
      count++;
    }
    if (count !== 1) return this.errTok('MalformedChar', `Invalid character: '${s}'`, p);
    return { kind: 'char', text: s, line: p.line, pos: p.pos };
  }

  private backtick(p: Pos): Token {
    this.adv();
    if (this.peek() === '\n') this.adv();
    else if (this.peek() === '\r' && this.peek(1) === '\n') {
      this.adv();
      this.adv();
    }
    const parts: (string | Token[])[] = [];
    const partPos: Pos[] = [];
    let s = '';
    let sPos: Pos = { line: this.line, pos: this.col };
    const flush = (): Token | undefined => {
      if (s !== '') {
        const e = this.checkSize(s, sPos);
        if (e) return e;
        parts.push(s);
        partPos.push(sPos);
      }
      s = '';
      return undefined;
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined) return this.errTok('UnterminatedString', 'Open string is not terminated', p);
      if (c === '`') {
        if (this.peek(1) === '`') {
          this.adv();
          this.adv();
          s += '`';
          continue;
        }
        this.adv();
        break;
      }
      if (c === '$' && this.peek(1) === '{') {
        const e = flush();
        if (e) return e;
        const ePos: Pos = { line: this.line, pos: this.col };
        this.adv();
        this.adv();
        const toks: Token[] = [];
        let depth = 0;
        for (;;) {
          const t = this.next();
          if (t.kind === 'err') return t;
          if (t.kind === 'eof') return this.errTok('UnterminatedString', 'Open string is not terminated', p);
          if (t.kind === 'op' && (t.text === '{' || t.text === '#{')) depth++;
          if (t.kind === 'op' && t.text === '}') {
            if (depth === 0) {
              toks.push({ kind: 'eof', text: '', line: t.line, pos: t.pos });
              break;
            }
            depth--;
          }
          toks.push(t);
        }
        parts.push(toks);
        partPos.push(ePos);
        sPos = { line: this.line, pos: this.col };
        continue;
      }
      if (s === '') sPos = { line: this.line, pos: this.col };
      s += this.adv();
    }
    const e = flush();
    if (e) return e;
    return { kind: 'istr', text: '', line: p.line, pos: p.pos, parts, partPos };
  }
}
