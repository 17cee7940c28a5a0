/**
 * Rhai's keywords, as data with no imports: the lexer reads them, and so does the playground's
 * highlighting mode (bundled for the browser), so the editor colours what the engine reserves.
 */

/** Keywords that behave like function names when followed by `(`. */
export const FN_KEYWORDS = new Set([
  'Fn',
  'call',
  'curry',
  'type_of',
  'print',
  'debug',
  'eval',
  'is_def_fn',
  'is_def_var',
  'is_shared',
]);

export const KEYWORDS = new Set([
  'true',
  'false',
  'let',
  'const',
  'if',
  'else',
  'switch',
  'do',
  'while',
  'until',
  'loop',
  'for',
  'in',
  'continue',
  'break',
  'return',
  'throw',
  'try',
  'catch',
  'fn',
  'private',
  'import',
  'export',
  'as',
  'this',
  ...FN_KEYWORDS,
]);
