import { describe, expect, it } from 'vitest';
import { copyText } from './clipboard';

describe('copyText', () => {
  it('reports a copy, a refusal and a missing clipboard', async () => {
    const written: string[] = [];
    await expect(copyText('kubectl get pods', { writeText: async (t) => void written.push(t) })).resolves.toBe('copied');
    expect(written).toEqual(['kubectl get pods']);
    await expect(copyText('x', { writeText: () => Promise.reject(new DOMException('denied', 'NotAllowedError')) })).resolves.toBe('denied');
    await expect(copyText('x', undefined)).resolves.toBe('denied');
  });
});
