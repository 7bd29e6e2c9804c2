import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import DebriefPanel from './DebriefPanel.svelte';
import type { PersonalDebrief } from '../bindings/PersonalDebrief';
import { applyUpdate, initialSession, type Solved } from '../session';
import { commandSections, countLabel, diffLines, timeToFix, whyBothWork } from '../debrief';

const DIFF = `--- broken
+++ yours
@@ -6,7 +6,7 @@
   name: web
 spec:
   containers:
-  - image: nginx:nonexistent-tag-xyz-123
+  - image: nginx:stable
     name: web
`;

function personal(over: Partial<PersonalDebrief> = {}): PersonalDebrief {
  return {
    missionId: 'image-pull-backoff',
    title: 'The image that never arrives',
    broken: [{ pod: 'web', stage: 'Image pulled', reason: 'ErrImagePull', title: 'The node cannot pull the image `nginx:nonexistent-tag-xyz-123`' }],
    changes: [
      { kind: 'Pod', name: 'web', outcome: 'changed', diff: DIFF },
      { kind: 'Service', name: 'web', outcome: 'unchanged', diff: '' },
    ],
    commands: [
      { text: 'kubectl describe pod web', group: 'looked', count: 2, failed: 0 },
      { text: 'kubectl logs web', group: 'looked', count: 1, failed: 1 },
      { text: 'Apply in the editor (pod/web)', group: 'changed', count: 1, failed: 0 },
    ],
    timeToFixSeconds: 125,
    hintsUsed: 1,
    hintsTotal: 3,
    matchesReference: false,
    objectives: ['`web` is Running and Ready', '`web` still serves nginx'],
    worthKnowing: [],
    lessonMarkdown: '# Mission debrief',
    ...over,
  };
}

function solved(debrief: PersonalDebrief | null): Solved {
  return {
    debriefHtml: '<h1>Mission debrief: the image that never arrives</h1><p>The reference fix points the pod at <code>nginx:1.27</code>.</p>',
    debrief,
    progress: { status: 'solved', attempts: 1, hintsUsed: 1, startedAt: null, solvedAt: null, timeToFixSeconds: 125 },
    next: null,
    progressError: null,
  };
}

describe('the personal debrief helpers', () => {
  it('types a unified diff line by line and drops the file headers', () => {
    const lines = diffLines(DIFF);
    expect(lines.map((l) => l.kind)).toEqual(['hunk', 'context', 'context', 'context', 'removed', 'added', 'context']);
    expect(lines[4]).toEqual({ kind: 'removed', text: '  - image: nginx:nonexistent-tag-xyz-123', label: 'removed: ' });
    expect(lines[5]?.text).toBe('  - image: nginx:stable');
  });

  it('groups commands in the order of a fix and says how often they ran', () => {
    const sections = commandSections([
      { text: 'kubectl get pods', group: 'verified', count: 1, failed: 0 },
      { text: 'kubectl set image pod/web', group: 'changed', count: 1, failed: 0 },
      { text: 'kubectl describe pod web', group: 'looked', count: 3, failed: 0 },
    ]);
    expect(sections.map((s) => [s.title, s.commands.map((c) => c.text)])).toEqual([
      ['Looked', ['kubectl describe pod web']],
      ['Changed', ['kubectl set image pod/web']],
      ['Verified', ['kubectl get pods']],
    ]);
    expect(commandSections([])).toEqual([]);
    expect(countLabel({ text: 'x', group: 'looked', count: 3, failed: 0 })).toBe('×3');
    expect(countLabel({ text: 'x', group: 'looked', count: 1, failed: 1 })).toBe('refused');
    expect(countLabel({ text: 'x', group: 'looked', count: 1, failed: 0 })).toBe('');
  });

  it('says the time to fix as people do, and why both fixes work only when they differ', () => {
    expect([timeToFix(40), timeToFix(125), timeToFix(120), timeToFix(3780)]).toEqual(['40 s', '2 min 5 s', '2 min', '1 h 3 min']);
    expect(whyBothWork(personal({ matchesReference: true }))).toBeNull();
    expect(whyBothWork(personal())).toContain('What was checked: web is Running and Ready; web still serves nginx.');
  });
});

describe('DebriefPanel', () => {
  it('gets the personal debrief from the solved update', () => {
    const d = personal();
    const s = solved(d);
    const r = applyUpdate(initialSession(), { kind: 'solved', debriefHtml: s.debriefHtml, debrief: d, progress: s.progress, next: null, progressError: null });
    expect(r.state.solved?.debrief).toEqual(d);
  });

  it('shows the learner’s own debrief first, then the lesson’s', () => {
    const { body } = render(DebriefPanel, { props: { solved: solved(personal()), onnext: () => {}, onmap: () => {} } });
    const mine = body.indexOf('data-testid="personal-debrief"');
    const lesson = body.indexOf('data-testid="debrief"');
    expect(mine).toBeGreaterThan(-1);
    expect(lesson).toBeGreaterThan(mine);
    // What was broken, the change as a diff (only changed objects), grouped commands, time and hints.
    expect(body).toContain('<code>ErrImagePull</code>');
    expect(body).toContain('data-kind="Pod" data-name="web" data-outcome="changed"');
    expect(body).not.toContain('data-kind="Service"');
    expect(body).toMatch(/class="line removed[^"]*">.*image: nginx:nonexistent-tag-xyz-123/);
    expect(body).toMatch(/class="line added[^"]*">.*image: nginx:stable/);
    expect(body).toContain('data-group="looked"');
    expect(body).toContain('data-group="changed"');
    expect(body).not.toContain('data-group="verified"');
    expect(body).toContain('<code>kubectl describe pod web</code>');
    expect(body).toContain('×2');
    expect(body).toContain('Apply in the editor (pod/web)');
    expect(body).toMatch(/Time to fix: <strong>2 min 5 s<\/strong>.*Hints used: <strong>1 of 3<\/strong>/s);
    expect(body).toContain('data-testid="debrief-why-both"');
    expect(body).toContain('The reference fix points the pod at');
  });

  it('shows only the lesson’s debrief for a solve without a personal one', () => {
    const { body } = render(DebriefPanel, { props: { solved: solved(null), onnext: () => {}, onmap: () => {} } });
    expect(body).not.toContain('personal-debrief');
    expect(body).toContain('The reference fix points the pod at');
  });

  it('names a replaced pod and leaves out the why-both sentence when the fix is the reference one', () => {
    const d = personal({ matchesReference: true, changes: [{ kind: 'Pod', name: 'web', outcome: 'replaced', diff: '' }] });
    const { body } = render(DebriefPanel, { props: { solved: solved(d), onnext: () => {}, onmap: () => {} } });
    expect(body).toContain('replaced (deleted and created again)');
    expect(body).toContain('Created again with the same spec.');
    expect(body).not.toContain('debrief-why-both');
  });
});
