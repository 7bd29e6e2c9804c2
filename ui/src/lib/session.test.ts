import { describe, expect, it } from 'vitest';
import { applyUpdate, diagnosisAccess, initialSession } from './session';
import { pipeline } from './pipelines.test-helpers';

describe('applyUpdate', () => {
  it('folds pipeline, events, objectives, connection and solved updates', () => {
    let s = initialSession();
    let r = applyUpdate(s, { kind: 'pipeline', change: { change: 'upserted', pipeline: pipeline('pulled') } });
    s = r.state;
    expect(s.pods).toHaveLength(1);
    expect(r.announcements).toEqual(['Pod web is stuck at Image pulled.']);

    r = applyUpdate(s, {
      kind: 'events',
      events: [{ type: 'Normal', reason: 'Scheduled', message: 'x', count: 1, firstSeen: null, lastSeen: null, lastTimestamp: null, from: 'default-scheduler', object: 'pod/web', container: null }],
    });
    s = r.state;
    expect(s.events).toHaveLength(1);

    r = applyUpdate(s, {
      kind: 'objectives',
      results: [
        { id: 'a', title: '`web` is Ready', status: 'met', reason: 'ok' },
        { id: 'b', title: 'b', status: 'not-met', reason: 'no' },
      ],
      allMet: false,
    });
    expect(r.announcements).toEqual(['Objective met: web is Ready.']);
    s = r.state;
    r = applyUpdate(s, { kind: 'objectives', results: s.objectives!, allMet: false });
    expect(r.announcements).toEqual([]);

    r = applyUpdate(s, { kind: 'connection', state: { state: 'reconnecting', attempt: 2, message: 'refused', retryAt: '2025-01-01T00:00:00Z' } });
    expect(r.announcements[0]).toMatch(/Reconnecting, attempt 2/);
    s = r.state;
    r = applyUpdate(s, { kind: 'connection', state: { state: 'connected' } });
    expect(r.announcements).toEqual(['Connected to the cluster again.']);
    s = r.state;

    // The cluster's clock is for the screen's ages and countdowns: no state, nothing to say.
    r = applyUpdate(s, { kind: 'clock', clock: { now: '2025-01-01T00:00:00.000Z', speed: 8 } });
    expect(r.state).toBe(s);
    expect(r.announcements).toEqual([]);

    r = applyUpdate(s, {
      kind: 'solved',
      debriefHtml: '<h1>Debrief</h1>',
      debrief: null,
      progress: { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: null, solvedAt: null, timeToFixSeconds: 60 },
      next: null,
      progressError: null,
    });
    expect(r.state.solved?.debriefHtml).toBe('<h1>Debrief</h1>');
    expect(r.state.pods).toHaveLength(1);
  });

  it('keeps a solve that could not be saved in front of the learner, with the file and the next step', () => {
    const error = { kind: 'progress' as const, message: 'Your solve was not saved: /home/ada/.local/share/kubequest: Permission denied.' };
    const r = applyUpdate(initialSession(), {
      kind: 'solved',
      debriefHtml: '<h1>Debrief</h1>',
      debrief: null,
      progress: { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: null, solvedAt: null, timeToFixSeconds: 60 },
      next: null,
      progressError: error,
    });
    expect(r.state.solved?.progressError, 'the screen must show that nothing was saved').toEqual(error);
    expect(r.announcements.join(' '), 'screen readers hear it too').toMatch(/not saved.*Permission denied/);
  });

  it('announces a lost connection with its message', () => {
    const r = applyUpdate(initialSession(), {
      kind: 'connection',
      state: { state: 'lost', failure: { kind: 'unreachable', message: 'connection refused' } },
    });
    expect(r.announcements).toEqual(['The connection to the cluster is lost: connection refused']);
  });

  it('keeps the workloads and announces one that becomes stuck, once', () => {
    const stuck = {
      kind: 'Deployment' as const,
      name: 'web',
      uid: 'd-1',
      revision: 2,
      newReplicaSet: 'web-5d8f9c7b4d',
      ready: '3/3',
      summary: '3/3 ready, 1 up-to-date, 3 available',
      applied: {
        id: 'applied',
        kind: 'applied' as const,
        label: 'Applied',
        container: null,
        state: 'stuck' as const,
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "web-5d8f9c7b4d" has timed out progressing.',
        evidence: { fields: [], event: null },
      },
      diagnosis: null,
      pods: ['web-5d8f9c7b4d-xxxxx'],
    };
    const first = applyUpdate(initialSession(), { kind: 'workloads', workloads: [stuck] });
    expect(first.state.workloads).toHaveLength(1);
    expect(first.announcements).toEqual(['Deployment web is stuck: ProgressDeadlineExceeded.']);
    const again = applyUpdate(first.state, { kind: 'workloads', workloads: [stuck] });
    expect(again.announcements, 'no repeat while it stays stuck').toEqual([]);
  });
});

describe('reacting hints and locked diagnoses', () => {
  const nudge = (id: string, text: string) => ({ id, html: `<p>${text}</p>`, text });
  const gate = (unlocked: boolean) => ({
    object: 'greeter',
    reason: 'CrashLoopBackOff',
    unlocked,
    investigate: 'kubectl logs greeter -n kq-crash-loop-backoff --previous',
  });

  it('announces a nudge once, when it starts to apply, and not when it goes away', () => {
    let r = applyUpdate(initialSession(), { kind: 'nudges', nudges: [nudge('events-next', 'You have looked at the pod but not at its events.')] });
    expect(r.state.nudges.map((n) => n.id)).toEqual(['events-next']);
    expect(r.announcements).toEqual(['You have looked at the pod but not at its events.']);
    r = applyUpdate(r.state, { kind: 'nudges', nudges: [nudge('events-next', 'You have looked at the pod but not at its events.')] });
    expect(r.announcements).toEqual([]);
    r = applyUpdate(r.state, { kind: 'nudges', nudges: [] });
    expect(r.state.nudges).toEqual([]);
    expect(r.announcements).toEqual([]);
  });

  it('keeps a diagnosis locked until the engine unlocks it, and says what to run meanwhile', () => {
    const d = { reason: 'CrashLoopBackOff' };
    expect(diagnosisAccess([], 'greeter', d)).toEqual({ unlocked: false, investigate: null });
    let r = applyUpdate(initialSession(), { kind: 'unlocks', gates: [gate(false)] });
    expect(r.announcements).toEqual([]);
    expect(diagnosisAccess(r.state.gates, 'greeter', d)).toEqual({
      unlocked: false,
      investigate: 'kubectl logs greeter -n kq-crash-loop-backoff --previous',
    });
    expect(diagnosisAccess(r.state.gates, 'web', d).unlocked, 'another pod has its own gate').toBe(false);
    expect(diagnosisAccess(r.state.gates, 'greeter', { reason: 'OOMKilled' }).unlocked, 'a new reason starts locked').toBe(false);
    r = applyUpdate(r.state, { kind: 'unlocks', gates: [gate(true)] });
    expect(diagnosisAccess(r.state.gates, 'greeter', d)).toEqual({ unlocked: true });
    expect(r.announcements).toEqual(['The explanation of CrashLoopBackOff for greeter is now shown.']);
  });
});
