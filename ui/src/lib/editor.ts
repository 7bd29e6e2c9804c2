// CodeMirror 6 for the manifest editor: YAML mode, inline YAML diagnostics (the page's own
// instant ones plus the app's after an action), and a theme drawn from the window's tokens.
//
// Content-Security-Policy: CodeMirror injects its styles at run time. In a document it uses a
// <style> element, which `style-src 'self'` blocks; in a shadow root it uses a constructable
// stylesheet (adoptedStyleSheets), which CSP allows. So the editor is always mounted in a
// shadow root (`mountEditor`). The window's CSS variables and fonts still reach it.

import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { forceLinting, linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { EditorState, Prec, StateEffect, type Extension } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import type { YamlDiagnostic } from './bindings/YamlDiagnostic';
import { diagnosticRange, mergeDiagnostics, yamlDiagnostics, type MarkedDiagnostic } from './diagnostics';

const theme = EditorView.theme({
  '&': {
    height: '100%',
    color: 'var(--text)',
    backgroundColor: 'var(--surface)',
    fontSize: '12.5px',
  },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.6' },
  '.cm-content': { caretColor: 'var(--accent)', padding: '8px 0' },
  '.cm-gutters': {
    backgroundColor: 'var(--surface-sunken)',
    color: 'var(--text-faint)',
    border: 'none',
    borderRight: '1px solid var(--border)',
  },
  '.cm-activeLine': { backgroundColor: 'var(--accent-softer)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--accent-soft)', color: 'var(--text)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--accent)', borderLeftWidth: '2px' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
    backgroundColor: 'var(--accent-soft) !important',
  },
  '.cm-tooltip': {
    border: '1px solid var(--border-strong)',
    backgroundColor: 'var(--surface-raised)',
    color: 'var(--text)',
    borderRadius: '8px',
    fontFamily: 'var(--font-sans)',
  },
  '.cm-diagnostic-error': { borderLeft: '4px solid var(--danger)' },
  '.cm-lintRange-error': {
    backgroundImage: 'none',
    textDecoration: 'underline wavy var(--danger)',
    textUnderlineOffset: '3px',
    backgroundColor: 'var(--danger-soft)',
  },
});

/**
 * Typing over a selection that spans lines lets the browser merge the line elements itself,
 * and Chromium copies computed styles into a `style` attribute while doing so, which the CSP
 * blocks (a violation report each time). Replacing a selection is done by CodeMirror instead.
 */
const replaceSelectionItself = EditorView.domEventHandlers({
  beforeinput(event, view) {
    if (view.composing || view.state.selection.main.empty) return false;
    if (event.inputType !== 'insertText' && event.inputType !== 'insertReplacementText') return false;
    const text = event.data ?? event.dataTransfer?.getData('text/plain') ?? null;
    if (text === null) return false;
    event.preventDefault();
    view.dispatch(view.state.update(view.state.replaceSelection(text), { userEvent: 'input.type', scrollIntoView: true }));
    return true;
  },
});

export interface EditorHooks {
  /** Diagnostics shown for the current text (for the list under the editor). */
  onDiagnostics: (found: MarkedDiagnostic[]) => void;
  /** The app's diagnostics for the text last sent, cleared when the text changes. */
  serverDiagnostics: () => readonly YamlDiagnostic[];
  onDocChanged: () => void;
  onApply: () => void;
  onDelete: () => void;
}

export function editorExtensions(hooks: EditorHooks): Extension[] {
  const yamlLinter = linter(
    (view) => {
      const text = view.state.doc.toString();
      const found = mergeDiagnostics(yamlDiagnostics(text), hooks.serverDiagnostics());
      hooks.onDiagnostics(found);
      return found.map((d): Diagnostic => {
        const { from, to } = diagnosticRange(text, d);
        return {
          from,
          to,
          severity: 'error',
          source: d.source === 'server' ? 'kubectl' : 'YAML',
          message: `Line ${d.line}, column ${d.column}: ${d.message}`,
        };
      });
    },
    {
      delay: 120,
      // The app's diagnostics arrive without a text change: `relint` asks for a new run.
      needsRefresh: (update) => update.transactions.some((tr) => tr.effects.some((e) => e.is(refreshLint))),
    },
  );
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    EditorState.tabSize.of(2),
    yaml(),
    lintGutter(),
    yamlLinter,
    theme,
    EditorView.contentAttributes.of({ 'aria-label': 'Manifest YAML', 'data-testid': 'editor-content' }),
    replaceSelectionItself,
    EditorView.updateListener.of((update) => {
      if (update.docChanged) hooks.onDocChanged();
    }),
    Prec.highest(
      keymap.of([
        { key: 'Mod-Enter', run: () => (hooks.onApply(), true) },
        { key: 'Mod-Shift-Backspace', run: () => (hooks.onDelete(), true) },
      ]),
    ),
    keymap.of([...defaultKeymap, ...historyKeymap]),
  ];
}

/** Mounts an editor in a shadow root of `host` (see the CSP note at the top). */
export function mountEditor(host: HTMLElement, state: EditorState): EditorView {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  return new EditorView({ state, parent: root });
}

export function newState(doc: string, extensions: Extension[]): EditorState {
  return EditorState.create({ doc, extensions });
}

const refreshLint = StateEffect.define<null>();

/** Re-runs the linter now (after the app returned diagnostics). */
export function relint(view: EditorView): void {
  view.dispatch({ effects: refreshLint.of(null) });
  forceLinting(view);
}

/** Moves the cursor to a diagnostic and focuses the editor. */
export function revealDiagnostic(view: EditorView, d: YamlDiagnostic): void {
  const { from } = diagnosticRange(view.state.doc.toString(), d);
  view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
  view.focus();
}
