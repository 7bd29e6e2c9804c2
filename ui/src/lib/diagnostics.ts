// YAML problems for the manifest editor: instant ones found in the page with the `yaml`
// package, and the ones the app reports after an action, both as 1-based line and column
// (`YamlDiagnostic`), mapped to document offsets for CodeMirror's inline marks.

import { LineCounter, parseAllDocuments } from 'yaml';
import type { YamlDiagnostic } from './bindings/YamlDiagnostic';

export interface MarkedDiagnostic extends YamlDiagnostic {
  source: 'editor' | 'server';
}

/** Every syntax error in `text`, at most `limit`, in document order. */
export function yamlDiagnostics(text: string, limit = 20): YamlDiagnostic[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const found: YamlDiagnostic[] = [];
  for (const doc of list) {
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      found.push({ line, column: col, message: firstLine(error.message) });
    }
  }
  found.sort((a, b) => a.line - b.line || a.column - b.column);
  return found.slice(0, limit);
}

const firstLine = (message: string): string => message.split('\n')[0]?.trim() || 'Invalid YAML';

/**
 * Document offsets for a 1-based line and column, clamped into the text: a mark from the
 * column to the end of that word (at least one character when the line has any).
 */
export function diagnosticRange(text: string, d: Pick<YamlDiagnostic, 'line' | 'column'>): { from: number; to: number } {
  const lines = text.split('\n');
  const lineIndex = Math.min(Math.max(1, d.line), lines.length) - 1;
  let start = 0;
  for (let i = 0; i < lineIndex; i++) start += (lines[i]?.length ?? 0) + 1;
  const line = lines[lineIndex] ?? '';
  const col = Math.min(Math.max(1, d.column), line.length + 1) - 1;
  const from = start + col;
  const rest = line.slice(col);
  const word = rest.match(/^\S+/)?.[0].length ?? 0;
  const to = from + (word > 0 ? word : rest.length > 0 ? 1 : 0);
  return { from, to };
}

/** `line 3, column 7: message` — how the list under the editor reads. */
export const describeDiagnostic = (d: YamlDiagnostic): string => `line ${d.line}, column ${d.column}: ${d.message}`;

/** Editor diagnostics first, then the app's, without repeating one at the same place. */
export function mergeDiagnostics(editor: readonly YamlDiagnostic[], server: readonly YamlDiagnostic[]): MarkedDiagnostic[] {
  const seen = new Set(editor.map((d) => `${d.line}:${d.column}`));
  return [
    ...editor.map((d) => ({ ...d, source: 'editor' as const })),
    ...server.filter((d) => !seen.has(`${d.line}:${d.column}`)).map((d) => ({ ...d, source: 'server' as const })),
  ];
}
