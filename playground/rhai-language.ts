import { StreamLanguage, type StringStream } from '@codemirror/language';
import { FN_KEYWORDS, KEYWORDS as RHAI_KEYWORDS } from '../rhai/keywords';

// Colours by kind: the engine's keywords (rhai/keywords.ts), split into literal-like atoms,
// keywords that call like functions, and the rest (control flow and declarations).
const ATOMS = new Set(['true', 'false', 'this']);
const BUILTINS = FN_KEYWORDS;
const KEYWORDS = new Set([...RHAI_KEYWORDS, 'global'].filter((k) => !ATOMS.has(k) && !BUILTINS.has(k)));

interface RhaiState {
  /** Depth of nested block comments (Rhai nests them). */
  commentDepth: number;
  /** Inside a back-tick string (which may span lines). */
  inTemplate: boolean;
}

function blockComment(stream: StringStream, state: RhaiState): string {
  while (!stream.eol()) {
    if (stream.match('/*')) state.commentDepth++;
    else if (stream.match('*/')) state.commentDepth--;
    else stream.next();
    if (state.commentDepth === 0) break;
  }
  return 'comment';
}

function template(stream: StringStream, state: RhaiState): string {
  while (!stream.eol()) {
    const ch = stream.next();
    if (ch === '\\') stream.next();
    else if (ch === '`') {
      state.inTemplate = false;
      break;
    }
  }
  return 'string';
}

function quoted(stream: StringStream, quote: string): string {
  while (!stream.eol()) {
    const ch = stream.next();
    if (ch === '\\') stream.next();
    else if (ch === quote) break;
  }
  return 'string';
}

/** A small Rhai mode: keywords, strings, numbers and (nested) comments. */
export const rhaiLanguage = StreamLanguage.define<RhaiState>({
  name: 'rhai',
  startState: () => ({ commentDepth: 0, inTemplate: false }),
  copyState: (s) => ({ ...s }),
  token(stream, state) {
    if (state.commentDepth > 0) return blockComment(stream, state);
    if (state.inTemplate) return template(stream, state);
    if (stream.eatSpace()) return null;
    if (stream.match('//')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match('/*')) {
      state.commentDepth = 1;
      return blockComment(stream, state);
    }
    const ch = stream.peek() ?? '';
    if (ch === '"' || ch === "'") {
      stream.next();
      return quoted(stream, ch);
    }
    if (ch === '`') {
      stream.next();
      state.inTemplate = true;
      return template(stream, state);
    }
    if (stream.match(/^0x[0-9a-f_]+|^0o[0-7_]+|^0b[01_]+/i)) return 'number';
    if (stream.match(/^\d[\d_]*(\.\d[\d_]*)?(e[+-]?\d+)?/i)) return 'number';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current();
      if (KEYWORDS.has(word)) return 'keyword';
      if (ATOMS.has(word)) return 'atom';
      if (BUILTINS.has(word)) return 'builtin';
      return stream.peek() === '(' ? 'variableName.function' : 'variableName';
    }
    if (stream.match(/^[+\-*/%=<>!&|^?.:~]+/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});
