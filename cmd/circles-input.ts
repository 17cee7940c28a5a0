/**
 * When a REPL line is not yet a whole script: it ends in `\`, or a `{`, `(` or `[` is still
 * open outside strings and comments, or a template literal is. The lexical shapes of Rhai that
 * matter here: "strings" with escapes, 'c' characters, `templates ${with} interpolation`, line
 * comments and (nested) block comments.
 */
export type InputState = { complete: true; script: string } | { complete: false; buffer: string };

const CLOSER: Record<string, string> = { '{': '}', '(': ')', '[': ']' };
/** Marks on the stack: inside a template literal, and inside a template's `${ }`. */
const TEMPLATE = '`';
const INTERPOLATION = '${';

/** Adds `line` to what was typed so far and says whether the script is complete. */
export function addLine(buffer: string, line: string): InputState {
  if (line.endsWith('\\')) return { complete: false, buffer: `${buffer}${line.slice(0, -1)}\n` };
  const text = `${buffer}${line}`;
  return isOpen(text) ? { complete: false, buffer: `${text}\n` } : { complete: true, script: text };
}

/** True when a bracket, a block comment, a string or a template is still open at the end. */
export function isOpen(text: string): boolean {
  const stack: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    const top = stack[stack.length - 1];
    if (top === TEMPLATE) {
      if (c === '\\') i += 2;
      else if (c === '`') {
        stack.pop();
        i += 1;
      } else if (c === '$' && next === '{') {
        stack.push(INTERPOLATION);
        i += 2;
      } else i += 1;
    } else if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end + 1;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(text, i);
      if (i < 0) return true;
    } else if (c === '"' || c === "'") {
      i = skipQuoted(text, i);
    } else if (c === '`') {
      stack.push(TEMPLATE);
      i += 1;
    } else if (CLOSER[c]) {
      stack.push(CLOSER[c]);
      i += 1;
    } else if (c === '}' || c === ')' || c === ']') {
      const closes = top === c || (top === INTERPOLATION && c === '}');
      if (!closes) return false; // closed more than opened: complete, the engine will say what is wrong
      stack.pop();
      i += 1;
    } else i += 1;
  }
  return stack.length > 0;
}

/** Index after the block comment opening at `start`, or -1 when it does not end. */
function skipBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (text.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return -1;
}

/**
 * Index after the string or character literal opening at `start`. These cannot span lines in
 * Rhai, so one left open ends at the line's end: the engine reports it rather than the REPL
 * waiting for a quote.
 */
function skipQuoted(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
  return text[i] === quote ? i + 1 : i;
}
