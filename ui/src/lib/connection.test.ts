import { describe, expect, it } from 'vitest';
import { connectionCopy } from './connection';

const now = Date.parse('2025-01-01T00:00:00Z');

describe('connectionCopy', () => {
  it('is silent while connected', () => {
    expect(connectionCopy({ state: 'connected' }, now)).toBeNull();
  });
  it('counts down to the next attempt while reconnecting', () => {
    const copy = connectionCopy({ state: 'reconnecting', attempt: 3, message: 'connection refused', retryAt: '2025-01-01T00:00:04Z' }, now);
    expect(copy).toEqual({
      tone: 'warn',
      title: 'Reconnecting to the cluster (attempt 3)',
      detail: 'connection refused — next try in 4s.',
      nextStep: null,
    });
    expect(connectionCopy({ state: 'reconnecting', attempt: 3, message: 'x', retryAt: '2024-01-01T00:00:00Z' }, now)?.detail).toBe('x — trying now…');
  });
  it('gives a next step by kind when lost', () => {
    const copy = connectionCopy({ state: 'lost', failure: { kind: 'unauthorized', message: 'Unauthorized' } }, now);
    expect(copy?.tone).toBe('problem');
    expect(copy?.detail).toBe('Unauthorized');
    expect(copy?.nextStep).toMatch(/credentials/);
  });
});
