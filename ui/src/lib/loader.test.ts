import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SLOW_AFTER_MS, track, type Load } from './loader';

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe('track', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts loading, then reports the value', async () => {
    const states: Load<number>[] = [];
    const req = deferred<number>();
    track(req.promise, (s) => states.push(s));
    expect(states).toEqual([{ status: 'loading', slow: false }]);
    req.resolve(7);
    await vi.runAllTimersAsync();
    expect(states.at(-1)).toEqual({ status: 'ready', value: 7 });
    expect(states.some((s) => s.status === 'loading' && s.slow)).toBe(false);
  });

  it('says it is slow after ten seconds, not before', async () => {
    expect(SLOW_AFTER_MS).toBe(10_000);
    const states: Load<number>[] = [];
    track(new Promise<number>(() => {}), (s) => states.push(s));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(states).toEqual([{ status: 'loading', slow: false }]);
    await vi.advanceTimersByTimeAsync(1);
    expect(states.at(-1)).toEqual({ status: 'loading', slow: true });
  });

  it('reports a failure as a UiError', async () => {
    const states: Load<number>[] = [];
    track(Promise.reject(new Error('boom')), (s) => states.push(s));
    await vi.runAllTimersAsync();
    expect(states.at(-1)).toEqual({ status: 'failed', error: { kind: 'internal', message: 'boom' } });
  });

  it('goes quiet once stopped, so an old request cannot overwrite a retry', async () => {
    const states: Load<number>[] = [];
    const req = deferred<number>();
    const stop = track(req.promise, (s) => states.push(s));
    stop();
    req.resolve(1);
    await vi.advanceTimersByTimeAsync(SLOW_AFTER_MS * 2);
    expect(states).toEqual([{ status: 'loading', slow: false }]);
  });
});
