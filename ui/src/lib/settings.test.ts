import { describe, expect, it } from 'vitest';
import type { ContextInfo } from './bindings/ContextInfo';
import type { Settings } from './bindings/Settings';
import { applyTheme, chooseCluster, clusterChoices, needsConfirmation, speedLabel } from './settings';

const contexts: ContextInfo[] = [
  { name: 'kind-dev', cluster: 'kind-dev', user: 'kind-dev', namespace: null, server: 'https://127.0.0.1:6443', current: true, locality: { kind: 'local', why: 'server is 127.0.0.1' } },
  { name: 'class', cluster: 'class', user: 'me', namespace: null, server: 'https://k8s.school.example:6443', current: false, locality: { kind: 'remote' } },
];
const settings: Settings = { context: null, allowedRemoteContexts: [], speed: 1, theme: 'system', teacherPreview: false };

describe('cluster choices', () => {
  it('lists the embedded cluster first, then contexts with local/remote badges', () => {
    const choices = clusterChoices(contexts);
    expect(choices.map((c) => [c.context, c.badge])).toEqual([
      [null, 'Built in'],
      ['kind-dev', 'Local'],
      ['class', 'Remote'],
    ]);
    expect(choices[2]?.detail).toContain('https://k8s.school.example:6443');
  });
  it('asks before a remote context, once', () => {
    const [embedded, local, remote] = clusterChoices(contexts);
    expect(needsConfirmation(embedded!, settings)).toBe(false);
    expect(needsConfirmation(local!, settings)).toBe(false);
    expect(needsConfirmation(remote!, settings)).toBe(true);
    const chosen = chooseCluster(settings, remote!);
    expect(chosen, 'choosing a cluster never grows the allow-list: only the Rust side records consent').toEqual({
      ...settings,
      context: 'class',
    });
    expect(needsConfirmation(remote!, chosen), 'still unconfirmed until the Rust side recorded the yes').toBe(true);
    const recorded = { ...settings, allowedRemoteContexts: ['class'] };
    expect(needsConfirmation(remote!, recorded), 'a recorded yes is not asked again').toBe(false);
    expect(chooseCluster(recorded, embedded!).context).toBeNull();
  });
});

describe('speed and theme', () => {
  it('labels speeds', () => {
    expect(speedLabel(1)).toBe('1× real time');
    expect(speedLabel(0.5)).toBe('0.5× slower');
    expect(speedLabel(10)).toBe('10× faster');
  });
  it('sets data-theme, and removes it for system', () => {
    const root = { dataset: {} as DOMStringMap };
    applyTheme('dark', root);
    expect(root.dataset.theme).toBe('dark');
    applyTheme('system', root);
    expect(root.dataset.theme).toBeUndefined();
  });
});
