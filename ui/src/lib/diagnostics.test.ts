import { describe, expect, it } from 'vitest';
import { describeDiagnostic, diagnosticRange, mergeDiagnostics, yamlDiagnostics } from './diagnostics';

const good = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
`;

describe('yamlDiagnostics', () => {
  it('finds nothing in valid YAML, including several documents', () => {
    expect(yamlDiagnostics(good)).toEqual([]);
    expect(yamlDiagnostics(`${good}---\n${good}`)).toEqual([]);
  });
  it('reports a bad indentation with its 1-based line and column', () => {
    const bad = good.replace('      image: nginx:1.27', '     image: nginx:1.27');
    const found = yamlDiagnostics(bad);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]?.line).toBe(8);
    expect(found[0]?.column).toBeGreaterThan(0);
    expect(found[0]?.message).not.toContain('\n');
  });
  it('reports an unclosed quote and a duplicate key', () => {
    // A double-quoted scalar may span lines, so the parser notices at the end of the text.
    expect(yamlDiagnostics('a: "open\nb: 1\n')[0]).toMatchObject({ line: 3, column: 1, message: 'Missing closing "quote' });
    const dup = yamlDiagnostics('a: 1\na: 2\n');
    expect(dup[0]).toMatchObject({ line: 2, column: 1 });
  });
});

describe('diagnosticRange', () => {
  const text = 'kind: Pod\nmetadata:\n  name: web\n';
  it('maps line and column to offsets covering the word there', () => {
    expect(diagnosticRange(text, { line: 3, column: 3 })).toEqual({ from: 22, to: 27 });
    expect(text.slice(22, 27)).toBe('name:');
  });
  it('clamps positions outside the text', () => {
    expect(diagnosticRange(text, { line: 99, column: 99 })).toEqual({ from: text.length, to: text.length });
    expect(diagnosticRange(text, { line: 0, column: 0 })).toEqual({ from: 0, to: 5 });
  });
});

describe('mergeDiagnostics', () => {
  it('keeps editor findings first and drops server ones at the same place', () => {
    const merged = mergeDiagnostics(
      [{ line: 2, column: 1, message: 'dup' }],
      [
        { line: 2, column: 1, message: 'duplicate key' },
        { line: 5, column: 3, message: 'bad' },
      ],
    );
    expect(merged.map((d) => [d.source, d.line])).toEqual([
      ['editor', 2],
      ['server', 5],
    ]);
    expect(describeDiagnostic(merged[1]!)).toBe('line 5, column 3: bad');
  });
});
