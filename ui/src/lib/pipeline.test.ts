import { describe, expect, it } from 'vitest';
import { applyChange, eventLine, eventLineParts, ownerLabel, railView, retryView, stageAnnouncement, type PodEntry } from './pipeline';
import { pipeline, stage } from './pipelines.test-helpers';

const entry = (p = pipeline('pulled'), recreations = 0): PodEntry => ({ pipeline: p, recreations });

describe('railView', () => {
  it('puts the marker on the stuck stage and explains it with reason, evidence and event', () => {
    const p = pipeline('pulled', 'stuck');
    const pulled = p.stages[2];
    if (!pulled) throw new Error('fixture has a pull stage');
    pulled.reason = 'ImagePullBackOff';
    pulled.evidence = {
      fields: [{ path: 'status.containerStatuses[0].state.waiting.reason', value: 'ImagePullBackOff' }],
      event: { type: 'Normal', reason: 'BackOff', message: 'Back-off pulling image "nginx:nope"', count: 3, lastSeen: '2025-01-01T00:00:50Z', age: '10s' },
    };
    const view = railView(entry(p));
    expect(view.marker).toBe(2);
    expect(view.markerState).toBe('stuck');
    expect(view.stages.map((s) => s.state)).toEqual(['done', 'done', 'stuck', 'pending', 'pending', 'pending']);
    expect(view.stuck?.reason).toBe('ImagePullBackOff');
    expect(view.stuck?.evidence).toEqual(['status.containerStatuses[0].state.waiting.reason = ImagePullBackOff']);
    expect(eventLine(view.stuck!.event!, Date.parse('2025-01-01T00:01:00Z'))).toBe(
      'Normal BackOff (x3, 10s ago): Back-off pulling image "nginx:nope"',
    );
  });

  it('splits the latest event line so only its age ticks', () => {
    const at = Date.parse('2025-01-01T00:01:00Z');
    const event = { type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container', count: 4, lastSeen: '2025-01-01T00:00:54Z', age: '6s' };
    expect(eventLineParts(event, at)).toEqual({ head: 'BackOff (x4, ', age: '6s ago', tail: '): Back-off restarting failed container' });
    // A single event has no count; one without a time has no age to tick.
    expect(eventLineParts({ ...event, count: 1 }, at)).toEqual({ head: 'BackOff (', age: '6s ago', tail: '): Back-off restarting failed container' });
    expect(eventLineParts({ ...event, lastSeen: null }, at)).toEqual({ head: 'BackOff (x4)', age: '', tail: ': Back-off restarting failed container' });
    expect(eventLineParts({ ...event, count: 1, lastSeen: null }, at)).toEqual({ head: 'BackOff', age: '', tail: ': Back-off restarting failed container' });
    for (const e of [event, { ...event, count: 1 }, { ...event, lastSeen: null }]) {
      const { head, age, tail } = eventLineParts(e, at);
      expect(`Warning ${head}${age}${tail}`).toBe(eventLine(e, at));
    }
  });

  it('falls back to the diagnosis reason when the stage has none', () => {
    const view = railView(
      entry(
        pipeline('scheduled', 'stuck', {
          diagnosis: {
            kind: 'unschedulable',
            reason: 'Unschedulable',
            stage: 'scheduled',
            container: null,
            title: 'No node has room for the pod',
            explanation: 'x',
            commands: ['kubectl describe pod web'],
            lastTermination: null,
            fitError: null,
          },
        }),
      ),
    );
    expect(view.stuck?.reason).toBe('Unschedulable');
    expect(view.stuck?.title).toBe('No node has room for the pod');
    expect(view.stuck?.commands).toEqual(['kubectl describe pod web']);
  });

  it('sits on the active stage while moving, and on the last one once every stage is done', () => {
    expect(railView(entry(pipeline('created', 'active'))).markerState).toBe('moving');
    expect(railView(entry(pipeline('created', 'active'))).marker).toBe(3);
    const done = railView(entry(pipeline(null)));
    expect(done.markerState).toBe('ready');
    expect(done.marker).toBe(5);
    expect(done.stuck).toBeNull();
  });

  it('marks a failed stage as failed', () => {
    expect(railView(entry(pipeline('running', 'failed'))).markerState).toBe('failed');
  });

  it('keeps init stages in place and flags them', () => {
    const p = pipeline('scheduled', 'done');
    p.stages.splice(2, 0, stage('init:migrate', 'init', 'Init: migrate', 'stuck', 'Init:CrashLoopBackOff'));
    const view = railView(entry(p));
    expect(view.stages[2]).toMatchObject({ id: 'init:migrate', init: true, state: 'stuck' });
    expect(view.marker).toBe(2);
  });
});

describe('retryView', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('counts down to the next attempt', () => {
    const view = retryView({ kind: 'image-pull', container: 'web', at: '2025-01-01T00:00:07Z', backoffSeconds: 20, basis: 'x' }, now);
    expect(view?.text).toBe('Next pull attempt in 7s');
    expect(view?.backoff).toBe('back-off 20s');
    const crash = retryView({ kind: 'crash-loop', container: 'web', at: '2025-01-01T00:01:20Z', backoffSeconds: 80, basis: 'x' }, now);
    expect(crash?.text).toBe('Next restart attempt in 1m 20s');
    expect(retryView({ kind: 'crash-loop', container: 'web', at: '2024-12-31T00:00:00Z', backoffSeconds: 80, basis: 'x' }, now)?.text).toBe(
      'Next restart attempt due now',
    );
  });
});

describe('applyChange', () => {
  it('adds, updates, counts recreations and removes pods, keeping their order', () => {
    let pods = applyChange([], { change: 'upserted', pipeline: pipeline('pulled') });
    pods = applyChange(pods, { change: 'upserted', pipeline: pipeline('pulled', 'stuck', { pod: 'db', uid: 'uid-db' }) });
    expect(pods.map((p) => p.pipeline.pod)).toEqual(['web', 'db']);
    pods = applyChange(pods, { change: 'recreated', previousUid: 'uid-1', pipeline: pipeline('scheduled', 'active', { uid: 'uid-2' }) });
    expect(pods.map((p) => [p.pipeline.pod, p.pipeline.uid, p.recreations])).toEqual([
      ['web', 'uid-2', 1],
      ['db', 'uid-db', 0],
    ]);
    pods = applyChange(pods, { change: 'removed', uid: 'uid-db', namespace: 'kq-test', pod: 'db' });
    expect(pods.map((p) => p.pipeline.pod)).toEqual(['web']);
  });
});

describe('stageAnnouncement', () => {
  it('says where a pod got stuck, and stays quiet when nothing moved', () => {
    const stuck = pipeline('pulled');
    stuck.stages[2]!.reason = 'ImagePullBackOff';
    expect(stageAnnouncement(undefined, entry(stuck))).toBe('Pod web is stuck at Image pulled: ImagePullBackOff.');
    expect(stageAnnouncement(entry(stuck), entry(stuck))).toBeNull();
    expect(stageAnnouncement(entry(stuck), entry(pipeline(null)))).toBe('Pod web reached Ready: every stage is done.');
    expect(stageAnnouncement(entry(stuck), entry(pipeline('running', 'active')))).toBe('Pod web is at Running.');
    expect(stageAnnouncement(entry(stuck), entry(pipeline('scheduled', 'active', { uid: 'uid-2' }), 1))).toBe(
      'Pod web was recreated and is at Scheduled.',
    );
  });
});

describe('ownerLabel', () => {
  it('names the workload, the revision and whether the pod is new or old', () => {
    expect(ownerLabel({})).toBeNull();
    expect(
      ownerLabel({ owner: { kind: 'Deployment', name: 'web', replicaSet: 'web-5d8f9c7b4d', revision: 2, role: 'new' } }),
    ).toBe('deployment/web · revision 2 (new)');
    expect(
      ownerLabel({ owner: { kind: 'Deployment', name: 'web', replicaSet: 'web-7c5ddbdf54', revision: 1, role: 'old' } }),
    ).toBe('deployment/web · revision 1 (old)');
    expect(ownerLabel({ owner: { kind: 'Job', name: 'report', replicaSet: null, revision: null, role: null } })).toBe('job/report');
  });
});
