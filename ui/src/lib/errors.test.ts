import { describe, expect, it } from 'vitest';
import { errorCopy, toUiError } from './errors';

describe('toUiError', () => {
  it('keeps an error from Rust as it is', () => {
    expect(toUiError({ kind: 'lessons', message: 'lessons/: not a folder' })).toEqual({
      kind: 'lessons',
      message: 'lessons/: not a folder',
    });
    expect(toUiError({ kind: 'cluster', message: 'connection refused', extra: 1 })).toEqual({
      kind: 'cluster',
      message: 'connection refused',
    });
  });

  it('makes an unknown kind internal but keeps its message', () => {
    expect(toUiError({ kind: 'disk', message: 'full' })).toEqual({ kind: 'internal', message: 'full' });
  });

  it('turns thrown errors and strings into internal errors with their text', () => {
    expect(toUiError(new TypeError('x is undefined'))).toEqual({ kind: 'internal', message: 'x is undefined' });
    expect(toUiError('command list_missions not found')).toEqual({
      kind: 'internal',
      message: 'command list_missions not found',
    });
  });

  it('never returns an empty message', () => {
    for (const weird of [undefined, null, '', new Error(''), {}, { kind: 'lessons', message: '' }, 42]) {
      const error = toUiError(weird);
      expect(error.message.length, `for ${String(weird)}`).toBeGreaterThan(0);
    }
    expect(toUiError(42)).toEqual({ kind: 'internal', message: 'Unexpected error: 42' });
    expect(toUiError({ code: 7 })).toEqual({ kind: 'internal', message: 'Unexpected error: {"code":7}' });
  });
});

describe('errorCopy', () => {
  it('points a lessons error at the lessons folder and KUBEQUEST_LESSONS', () => {
    const copy = errorCopy('lessons');
    expect(copy.title).toBe('The lessons could not be read');
    expect(copy.nextStep).toContain('KUBEQUEST_LESSONS');
  });

  it('gives every kind its own title and a next step', () => {
    const kinds = ['lessons', 'cluster', 'internal'] as const;
    const titles = new Set(kinds.map((k) => errorCopy(k).title));
    expect(titles.size).toBe(kinds.length);
    for (const k of kinds) expect(errorCopy(k).nextStep).toMatch(/\w/);
  });
});
