import { basicSetup } from 'codemirror';
import { EditorState, Prec, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, keymap, type DecorationSet } from '@codemirror/view';
import { rhaiLanguage } from './rhai-language';

/** Where the engine says a script failed (1-based, as the server reports it). */
export interface ErrorSpot {
  readonly line: number;
  readonly column: number;
}

const setErrorSpot = StateEffect.define<ErrorSpot | null>();

const WORD = /[\w$]/;

/** A line decoration on the failing line and an underline from the column to the end of its word. */
function decorate(state: EditorState, spot: ErrorSpot): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>();
  if (spot.line < 1 || spot.line > state.doc.lines) return builder.finish();
  const line = state.doc.line(spot.line);
  builder.add(
    line.from,
    line.from,
    Decoration.line({ class: 'cm-error-line', attributes: { 'data-error-line': String(spot.line) } }),
  );
  const from = Math.min(line.from + Math.max(spot.column - 1, 0), line.to);
  let to = from;
  while (to < line.to && WORD.test(line.text[to - line.from] ?? '')) to++;
  if (to === from && from < line.to) to = from + 1; // an operator or bracket: mark that one character
  if (to > from) builder.add(from, to, Decoration.mark({ class: 'cm-error-mark' }));
  return builder.finish();
}

/** The current error mark; cleared by the next edit, since its position no longer holds. */
const errorMark = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    for (const e of tr.effects)
      if (e.is(setErrorSpot)) return e.value ? decorate(tr.state, e.value) : Decoration.none;
    return tr.docChanged ? Decoration.none : marks;
  },
  provide: (field) => EditorView.decorations.from(field),
});

export interface ScriptEditor {
  readonly view: EditorView;
  script(): string;
  setScript(text: string): void;
  markError(spot: ErrorSpot | null): void;
}

const MONO = "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace";

/** The editor's look; CodeMirror puts it in the shadow root's own style sheet. */
const theme = EditorView.theme({
  '&': { height: '18rem', fontSize: '0.9rem', backgroundColor: '#fff' },
  '.cm-scroller': { fontFamily: MONO },
  '.cm-error-line': { backgroundColor: '#ffebe9' },
  '.cm-error-mark': { textDecoration: 'underline wavy #cf222e', textUnderlineOffset: '3px' },
});

/**
 * A CodeMirror editor for Rhai in `host`; Ctrl+Enter (Cmd+Enter on a Mac) calls `onRun`.
 * It lives in a shadow root: there CodeMirror styles itself with constructed style sheets,
 * which the page's CSP (`style-src 'self'`, no inline styles) allows; in the document itself
 * it would add <style> elements that the policy refuses.
 */
export function createEditor(host: HTMLElement, doc: string, onRun: () => void): ScriptEditor {
  const run = (): boolean => {
    onRun();
    return true;
  };
  const root = host.attachShadow({ mode: 'open' });
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc,
      extensions: [
        // above basicSetup, whose keymap binds Mod-Enter to "insert blank line"
        Prec.highest(
          keymap.of([
            { key: 'Mod-Enter', run },
            { key: 'Ctrl-Enter', run },
          ]),
        ),
        basicSetup,
        theme,
        rhaiLanguage,
        errorMark,
        EditorView.contentAttributes.of({ 'data-testid': 'script', 'aria-label': 'Rhai script' }),
      ],
    }),
  });
  return {
    view,
    script: () => view.state.doc.toString(),
    setScript(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    markError(spot) {
      view.dispatch({ effects: setErrorSpot.of(spot) });
      if (spot && spot.line >= 1 && spot.line <= view.state.doc.lines) {
        view.dispatch({
          effects: EditorView.scrollIntoView(view.state.doc.line(spot.line).from, { y: 'center' }),
        });
      }
    },
  };
}
