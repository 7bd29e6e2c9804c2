import { describe, expect, it } from 'vitest';
import { clusterPill, pillText } from './cluster';

describe('clusterPill', () => {
  it('says the cluster has not started', () => {
    const pill = clusterPill({ state: 'notStarted' });
    expect(pillText(pill)).toBe('Cluster: not started');
    expect(pill.tone).toBe('idle');
  });

  it('names the context when the cluster is ready', () => {
    const pill = clusterPill({
      state: 'ready',
      context: 'kubequest',
      kubeconfig: '/tmp/kubeconfig',
      server: 'https://127.0.0.1:6443',
    });
    expect(pillText(pill)).toBe('Cluster: kubequest');
    expect(pill.detail).toContain('https://127.0.0.1:6443');
    expect(pill.tone).toBe('ready');
  });

  it('shows the reason when the cluster is unavailable', () => {
    const pill = clusterPill({ state: 'unavailable', message: 'context kind-dev not found' });
    expect(pillText(pill)).toBe('Cluster unavailable: context kind-dev not found');
    expect(pill.detail).toBe('Cluster unavailable: context kind-dev not found');
    expect(pill.tone).toBe('problem');
  });

  it('admits it does not know when app info failed', () => {
    const pill = clusterPill(null);
    expect(pillText(pill)).toBe('Cluster: unknown');
    expect(pill.tone).toBe('problem');
  });
});
