// The mission screen with the IPC mocked: the test plays the engine, pushing SessionUpdates on
// the mission's channel. Covers the pipeline stuck at pull (with a live retry countdown), at
// schedule and at run (restarts, recreations), reaching ready, the debrief and the next
// mission, the editor (inline YAML errors, apply, keyboard), the kubectl bridge, hints and
// the connection states.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loaded, missions, scenario, screenshot, sharedBrowser } from './harness.mjs';
import {
  T0,
  at,
  clusterClock,
  immutableApply,
  missionAnswers,
  pipeline,
  objectives,
  podYaml,
  pullEvents,
  ready,
  solved,
  stuckAtPull,
  stuckAtRun,
  stuckAtSchedule,
  upsert,
} from './mission-fixtures.mjs';

const suite = sharedBrowser();

const NOW = T0 + 25_000;

/** Opens the app at NOW (fake clock, running), starts the ImagePullBackOff mission. */
async function openMission(over = {}, options = {}) {
  const app = await suite.open(scenario(missionAnswers(over)), {
    ...options,
    beforeLoad: (page) => page.clock.install({ time: NOW }),
  });
  const { page } = app;
  await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
  await page.getByTestId('start-mission').click();
  await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
  return app;
}

const text = (page, testid) => page.getByTestId(testid).first().innerText();
const announced = (page, needle) =>
  page.waitForFunction((n) => document.querySelector('[data-testid="announcer"]')?.textContent?.includes(n), needle);

test('stuck at pull: the rail pulses at Image pulled with ImagePullBackOff, evidence, the latest event and a live countdown', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const start = await app.argsOf('start_mission');
    assert.equal(start.length, 1);
    assert.equal(start[0].id, 'image-pull-backoff');
    assert.match(start[0].onUpdate, /^__CHANNEL__:\d+$/, 'start_mission gets a Channel as onUpdate');

    assert.equal(await text(page, 'mission-title'), 'The image that never arrives');
    assert.match(await text(page, 'briefing'), /went out to the namespace kq-image-pull-backoff/);
    assert.equal(await page.getByTestId('pods-waiting').isVisible(), true, 'before the first pod, the screen says it is waiting');

    await app.push(upsert(stuckAtPull(at(40))), { kind: 'events', events: pullEvents }, objectives());
    const rail = page.getByTestId('pipeline-rail');
    await rail.waitFor();
    assert.deepEqual(
      await page.locator('[data-testid^="stage-"][data-state]').evaluateAll((els) => els.map((e) => `${e.dataset.testid}=${e.dataset.state}`)),
      ['stage-applied=done', 'stage-scheduled=done', 'stage-pulled=stuck', 'stage-created=pending', 'stage-running=pending', 'stage-ready=pending'],
    );
    assert.equal(await rail.getAttribute('data-marker-state'), 'stuck');
    assert.equal(await page.getByTestId('pod-marker').getAttribute('data-stage'), 'pulled');
    assert.equal(await page.getByTestId('stage-pulse').count(), 1, 'the stuck stage has its pulse ring');
    assert.notEqual(
      await page.getByTestId('stage-pulse').evaluate((e) => getComputedStyle(e).animationName),
      'none',
      'the pulse animates when motion is allowed',
    );
    assert.equal(await text(page, 'reason-badge'), 'ImagePullBackOff');
    assert.equal(await text(page, 'pod-status'), 'ImagePullBackOff');
    assert.match(await text(page, 'evidence'), /status\.containerStatuses\[0\]\.state\.waiting\.reason = ImagePullBackOff/);
    assert.match(await text(page, 'latest-event'), /BackOff \(x3, \d+s ago\): Back-off pulling image "nginx:nonexistent-tag-xyz-123"/);

    const countdown = page.getByTestId('retry-countdown');
    assert.match(await countdown.innerText(), /Next pull attempt in 1\ds\s+\(back-off 20s\)/);
    const before = Number(await countdown.getAttribute('data-seconds'));
    await page.clock.runFor(5000);
    await page.waitForFunction(
      (b) => Number(document.querySelector('[data-testid="retry-countdown"]')?.getAttribute('data-seconds')) <= b - 4,
      before,
    );

    const rows = page.getByTestId('event-row');
    assert.equal(await rows.count(), 3);
    assert.deepEqual(await page.locator('[data-testid="events-table"] th').allInnerTexts(), ['TYPE', 'REASON', 'AGE', 'FROM', 'MESSAGE']);
    assert.match(await rows.nth(1).getByTestId('event-age').innerText(), /^\d+s \(x4 over \d+s\)$/, 'repeats read like kubectl describe');
    assert.match(await rows.nth(0).innerText(), /Normal\s+Scheduled\s+\d+s\s+default-scheduler\s+Successfully assigned/);
    assert.equal(await rows.nth(2).getAttribute('data-type'), 'Warning');

    assert.equal(await page.getByTestId('objective-web-ready').getAttribute('data-status'), 'not-met');
    assert.match(await text(page, 'objectives-summary'), /0 of 2 met/);
    await announced(page, 'Pod web is stuck at Image pulled: ImagePullBackOff');

    assert.equal(
      await text(page, 'kubeconfig-export'),
      'export KUBECONFIG=/home/learner/.local/share/dev.kubequest.desktop/kubeconfig',
    );
    await screenshot(page, '20-mission-stuck-at-pull');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('stuck at schedule: Unschedulable at Scheduled with the FailedScheduling event and no countdown', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtSchedule()));
    await page.getByTestId('pipeline-rail').waitFor();
    assert.equal(await page.getByTestId('stage-scheduled').getAttribute('data-state'), 'stuck');
    assert.equal(await page.getByTestId('stage-pulled').getAttribute('data-state'), 'pending');
    assert.equal(await page.getByTestId('pod-marker').getAttribute('data-stage'), 'scheduled');
    assert.equal(await text(page, 'reason-badge'), 'Unschedulable');
    assert.match(await text(page, 'latest-event'), /Warning\s+FailedScheduling.*0\/1 nodes are available: 1 Insufficient cpu/s);
    assert.match(await text(page, 'stuck-title'), /No node has enough CPU/);
    assert.equal(await page.getByTestId('retry-countdown').count(), 0, 'the scheduler has no back-off countdown');
    await screenshot(page, '21-mission-stuck-at-schedule');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('stuck at run: CrashLoopBackOff with the restart count, a restart countdown, and a recreated pod counted', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtRun(at(100))));
    await page.getByTestId('pipeline-rail').waitFor();
    assert.equal(await page.getByTestId('stage-running').getAttribute('data-state'), 'stuck');
    assert.equal(await text(page, 'reason-badge'), 'CrashLoopBackOff');
    assert.equal(await text(page, 'restart-count'), '4 (18s ago)');
    assert.equal(await page.getByTestId('restart-count').getAttribute('data-restarts'), '4');
    assert.match(await text(page, 'retry-countdown'), /Next restart attempt in 1m 1\ds\s+\(back-off 80s\)/);
    assert.match(await text(page, 'evidence'), /lastState\.terminated\.exitCode = 127/);
    await screenshot(page, '22-mission-stuck-at-run');

    // The learner deleted and re-created the pod: a new uid under the same name.
    await app.push({
      kind: 'pipeline',
      change: { change: 'recreated', previousUid: 'uid-web-1', pipeline: stuckAtRun(at(60)) && { ...stuckAtRun(at(60)), uid: 'uid-web-2', restarts: 0, restartsText: '0' } },
    });
    await page.waitForFunction(() => document.querySelector('[data-testid="pipeline-rail"]')?.getAttribute('data-uid') === 'uid-web-2');
    assert.equal(await text(page, 'recreations'), '1×');
    assert.equal(await text(page, 'restart-count'), '0');
    await announced(page, 'was recreated');

    // A second pod gets its own rail.
    await app.push(upsert({ ...stuckAtSchedule(), pod: 'worker', uid: 'uid-worker' }));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="pipeline-rail"]').length === 2);
    assert.deepEqual(await page.getByTestId('pipeline-rail').evaluateAll((els) => els.map((e) => e.dataset.pod)), ['web', 'worker']);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('fixing it: the edited manifest is applied, the rail reaches ready, the debrief unlocks and the next mission is offered', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))), objectives());
    await page.getByTestId('pipeline-rail').waitFor();

    const editor = page.getByTestId('editor-content');
    await editor.click();
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText(podYaml.replace('nginx:nonexistent-tag-xyz-123', 'nginx:1.27'));
    await page.getByTestId('apply-button').click();
    const output = page.getByTestId('action-output');
    await output.waitFor();
    assert.equal(await output.getAttribute('data-ok'), 'true');
    assert.equal(await text(page, 'action-command'), 'kubectl apply -n kq-image-pull-backoff -f pod.yaml');
    assert.equal(await text(page, 'action-text'), 'pod/web configured');
    const applied = await app.argsOf('apply_manifest');
    assert.equal(applied.length, 1);
    assert.equal(applied[0].id, 'image-pull-backoff');
    assert.equal(applied[0].file, 'pod.yaml');
    assert.match(applied[0].yaml, /image: nginx:1\.27/);
    assert.equal(await text(page, 'bridge-command'), 'kubectl apply -n kq-image-pull-backoff -f pod.yaml');

    await app.push(upsert(pipeline2()), objectives('not-met', 'met'));
    await page.waitForFunction(() => document.querySelector('[data-testid="pod-marker"]')?.getAttribute('data-stage') === 'created');
    await app.push(upsert(ready()), objectives('met', 'met'));
    await page.waitForFunction(() => document.querySelector('[data-testid="pipeline-rail"]')?.getAttribute('data-marker-state') === 'ready');
    assert.deepEqual(
      await page.locator('[data-testid^="stage-"][data-state]').evaluateAll((els) => els.map((e) => e.dataset.state)),
      ['done', 'done', 'done', 'done', 'done', 'done'],
    );
    assert.equal(await page.getByTestId('pod-marker').getAttribute('data-stage'), 'ready');
    assert.equal(await page.getByTestId('objectives').getAttribute('data-all-met'), 'true');
    await announced(page, 'reached Ready');
    await screenshot(page, '23-mission-ready');

    await app.push(solved());
    const debrief = page.getByTestId('debrief');
    await debrief.waitFor();
    assert.match(await debrief.innerText(), /What happened/);
    assert.equal(await page.getByTestId('mission-screen').getAttribute('data-phase'), 'solved');
    assert.equal(await page.getByTestId('celebration').getAttribute('data-motion'), 'full');
    assert.match(await text(page, 'solved-stats'), /Fixed in 4m 12s · 1 hint · attempt 1/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'solved-heading', 'focus moves to the success');
    await announced(page, 'Mission solved');
    await screenshot(page, '24-mission-debrief');

    const next = page.getByTestId('next-mission');
    assert.equal(await next.getAttribute('data-mission-id'), 'pending-insufficient-cpu');
    assert.match(await next.innerText(), /The pod with nowhere to go/);
    await next.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="mission-screen"]')?.getAttribute('data-mission-id') === 'pending-insufficient-cpu');
    const starts = await app.argsOf('start_mission');
    assert.deepEqual(starts.map((a) => a.id), ['image-pull-backoff', 'pending-insufficient-cpu']);
    assert.deepEqual((await app.argsOf('stop_mission')).map((a) => a.id), ['image-pull-backoff'], 'leaving a mission stops its watch');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

function pipeline2() {
  const p = ready({ status: 'ContainerCreating', ready: '0/1' });
  p.stages[3].state = 'active';
  p.stages[4].state = 'pending';
  p.stages[5].state = 'pending';
  return p;
}

test('a YAML error is marked inline with line and column, and the app’s own diagnostics join it', async () => {
  const app = await openMission({
    apply_manifest: [{ ok: { ok: false, command: 'kubectl apply -n kq-image-pull-backoff -f pod.yaml', output: 'error: error parsing pod.yaml: error converting YAML to JSON: yaml: line 10: mapping values are not allowed in this context', diagnostics: [{ line: 9, column: 7, message: 'mapping values are not allowed in this context' }] } }],
  });
  const { page } = app;
  try {
    await page.getByTestId('editor-content').click();
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText(podYaml.replace('      image: nginx', '     image: nginx'));
    const error = page.getByTestId('yaml-error').first();
    await error.waitFor();
    assert.equal(await error.getAttribute('data-line'), '10');
    assert.equal(await error.getAttribute('data-source'), 'editor');
    assert.match(await error.innerText(), /pod\.yaml line 10, column \d+: /);
    await page.locator('.cm-lintRange-error').first().waitFor();
    await screenshot(page, '25-yaml-error-inline');

    // Ctrl+Enter applies from the editor; the app answers with its own diagnostics.
    await page.getByTestId('editor-content').click();
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('action-output').waitFor();
    assert.equal(await page.getByTestId('action-output').getAttribute('data-ok'), 'false');
    assert.match(await text(page, 'action-text'), /^error: error parsing pod\.yaml/);
    await page.locator('[data-testid="yaml-error"][data-source="server"]').waitFor();
    assert.equal(await app.calls('apply_manifest'), 1);

    // Clicking a listed error puts the cursor there.
    await error.click();
    const line = await page.evaluate(() => {
      const root = document.querySelector('[data-testid="manifest-editor"]').shadowRoot;
      return root.querySelector('.cm-activeLine')?.textContent;
    });
    assert.equal(line, '     image: nginx:nonexistent-tag-xyz-123');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('hints are revealed one at a time, on request, and counted', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    assert.equal(await text(page, 'hints-used'), '0 of 3 hints used');
    await page.getByTestId('hint-button').click();
    await page.getByTestId('hint-0').waitFor();
    assert.match(await text(page, 'hint-0'), /the scheduler is happy/);
    assert.equal(await page.getByTestId('hint-1').count(), 0, 'only one hint at a time');
    assert.equal(await text(page, 'hints-used'), '1 of 3 hints used');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'hint-0', 'focus moves to the new hint');
    await page.getByTestId('hint-button').click();
    await page.getByTestId('hint-1').waitFor();
    assert.equal(await text(page, 'hints-used'), '2 of 3 hints used');
    assert.match(await text(page, 'hint-button'), /1 left/);
    assert.deepEqual(await app.argsOf('reveal_hint'), [{ id: 'image-pull-backoff' }, { id: 'image-pull-backoff' }]);
    await screenshot(page, '26-hints');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('reconnecting shows the attempt and a countdown; lost says what to do and can start again', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))));
    await app.push({ kind: 'connection', state: { state: 'reconnecting', attempt: 2, message: 'connection refused', retryAt: at(33) } });
    const banner = page.getByTestId('connection-banner');
    await banner.waitFor();
    assert.equal(await banner.getAttribute('data-state'), 'reconnecting');
    assert.match(await banner.innerText(), /Reconnecting to the cluster \(attempt 2\)/);
    assert.match(await text(page, 'connection-countdown'), /connection refused — next try in \ds\./);
    assert.equal(await page.getByTestId('pipeline-rail').isVisible(), true, 'the last known state stays on screen');
    await screenshot(page, '27-reconnecting');

    await app.push({ kind: 'connection', state: { state: 'lost', failure: { kind: 'unreachable', message: 'dial tcp 127.0.0.1:6443: connect: connection refused' } } });
    await page.waitForFunction(() => document.querySelector('[data-testid="connection-banner"]')?.dataset.state === 'lost');
    assert.equal(await banner.getAttribute('role'), 'alert');
    assert.match(await banner.innerText(), /The connection to the cluster is lost/);
    assert.match(await text(page, 'connection-next-step'), /Start the cluster/);
    await screenshot(page, '28-connection-lost');

    await page.getByTestId('connection-restart').click();
    await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
    assert.equal(await app.calls('start_mission'), 2, 'starting again asks the engine for a new session');
    assert.equal(await page.getByTestId('connection-banner').count(), 0);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a mission that cannot start says why, with retry and a way back; Back stops the mission', async () => {
  const app = await suite.open(scenario(
      missionAnswers({
        start_mission: [{ err: { kind: 'cluster', message: 'The embedded cluster did not answer.' } }, { ok: (await import('./mission-fixtures.mjs')).session() }],
      }),
    ),
  );
  const { page } = app;
  try {
    await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
    await page.getByTestId('start-mission').click();
    const error = page.getByTestId('mission-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-kind'), 'cluster');
    assert.match(await error.innerText(), /The embedded cluster did not answer\./);
    await page.getByTestId('mission-retry').click();
    await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
    await page.getByTestId('back-to-missions').click();
    await page.getByTestId('mission-list').waitFor();
    assert.equal(await app.calls('stop_mission'), 1);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'map-heading');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('copying the export line uses the clipboard, and a refused clipboard says how to copy instead', async () => {
  const app = await openMission();
  const { page, context } = app;
  try {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.origin });
    await page.getByTestId('copy-export').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="copy-export"]')?.dataset.outcome === 'copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'export KUBECONFIG=/home/learner/.local/share/dev.kubequest.desktop/kubeconfig');

    await page.evaluate(() => {
      Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new DOMException('Denied', 'NotAllowedError')) } });
    });
    await page.getByTestId('copy-export').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="copy-export"]')?.dataset.outcome === 'denied');
    assert.match(await text(page, 'copy-export'), /Press Ctrl\+C/);
    assert.equal(await page.evaluate(() => String(window.getSelection())), 'export KUBECONFIG=/home/learner/.local/share/dev.kubequest.desktop/kubeconfig');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('with reduced motion nothing on the mission screen animates', async () => {
  const app = await openMission({}, { media: { reducedMotion: 'reduce' } });
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))));
    await page.getByTestId('stage-pulse').waitFor();
    const motion = await page.evaluate(() => {
      const pulse = getComputedStyle(document.querySelector('[data-testid="stage-pulse"]'));
      const marker = getComputedStyle(document.querySelector('[data-testid="pod-marker"]'));
      return { pulse: pulse.animationName, markerTransition: parseFloat(marker.transitionDuration) <= 0.001 };
    });
    assert.deepEqual(motion, { pulse: 'none', markerTransition: true }, 'no pulse and no sliding marker');

    await app.push(upsert(ready()), solved());
    await page.getByTestId('debrief').waitFor();
    assert.equal(await page.getByTestId('celebration').getAttribute('data-motion'), 'reduced');
    const celebration = await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid="celebration"] *')].map((e) => getComputedStyle(e).animationName).filter((n) => n !== 'none'),
    );
    assert.deepEqual(celebration, [], 'the celebration is still');
    assert.equal(await page.locator('[data-testid="celebration"] .spark').count(), 0);
    await screenshot(page, '29-reduced-motion-solved');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the map shows solved, in-progress and locked missions with time to fix and hints', async () => {
  const progress = {
    version: 1,
    learner: null,
    missions: {
      'crash-loop-backoff': { status: 'solved', attempts: 2, hintsUsed: 1, startedAt: at(-900), solvedAt: at(-700), timeToFixSeconds: 200 },
      'image-pull-backoff': { status: 'in-progress', attempts: 1, hintsUsed: 0, startedAt: at(-60), solvedAt: null, timeToFixSeconds: null },
    },
  };
  const app = await suite.open(scenario(missionAnswers({ get_progress: [{ ok: loaded(progress) }] })));
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="mission-card"]')?.dataset.state === 'solved');
    const cards = page.getByTestId('mission-card');
    assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => e.dataset.state)), ['solved', 'in-progress', 'locked']);
    assert.equal(await cards.nth(0).getByTestId('mission-progress').innerText(), 'Fixed in 3m 20s · 1 hint');
    assert.equal(await cards.nth(1).getByTestId('mission-progress').innerText(), 'Attempt 1 · no hints yet');
    assert.match(await cards.nth(1).getByTestId('mission-status').innerText(), /In progress/);
    assert.match(await cards.nth(2).innerText(), /Solve “The image that never arrives” first/);
    assert.equal(await page.getByTestId('mission-summary').innerText(), '3 missions · 1 in progress · 1 solved · 1 locked');

    await cards.nth(2).click();
    assert.equal(await page.getByTestId('start-mission').count(), 0, 'a locked mission cannot be started');
    await cards.nth(0).click();
    assert.match(await page.getByTestId('start-mission').innerText(), /Play again/);
    await cards.nth(1).click();
    assert.match(await page.getByTestId('start-mission').innerText(), /Continue the mission/);
    await screenshot(page, '30-mission-map-progress');
    await page.getByTestId('start-mission').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('mission-screen').waitFor();
    assert.equal(await page.getByTestId('mission-screen').getAttribute('data-mission-id'), 'image-pull-backoff');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a progress file that cannot be read is explained on the map, which still works', async () => {
  const app = await suite.open(scenario({ get_progress: [{ err: { kind: 'internal', message: 'Your progress could not be read or saved: progress.json: permission denied.' } }, { ok: loaded() }] }),
  );
  const { page } = app;
  try {
    const banner = page.getByTestId('progress-error');
    await banner.waitFor();
    assert.match(await banner.innerText(), /Your progress could not be read\.\s*Your progress could not be read or saved: progress\.json: permission denied\./);
    assert.match(await banner.innerText(), /Missions are shown as not started/);
    assert.equal(await page.getByTestId('mission-card').count(), missions.length);
    await page.getByTestId('progress-retry').click();
    await banner.waitFor({ state: 'detached' });
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a progress file restored from the backup says so and the map shows the restored progress', async () => {
  const restored = {
    version: 1,
    learner: null,
    missions: {
      'crash-loop-backoff': { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: at(-900), solvedAt: at(-700), timeToFixSeconds: 200 },
    },
  };
  const message =
    'The progress file was damaged (expected value at line 3 column 1). It was kept as /data/progress.json.corrupt-20250301T100000Z. Your progress was restored from the last backup.';
  const app = await suite.open(// Reported once: the next load (back from a mission, say) answers without it.
    scenario({ get_progress: [{ ok: loaded(restored, { message, restored: true }) }, { ok: loaded(restored) }] }),
  );
  const { page } = app;
  try {
    const banner = page.getByTestId('progress-recovered');
    await banner.waitFor();
    assert.equal(await banner.getAttribute('data-restored'), 'true');
    const words = await banner.innerText();
    assert.match(words, /Your progress was restored from the backup\./);
    assert.match(words, /kept as \/data\/progress\.json\.corrupt-20250301T100000Z/);
    assert.doesNotMatch(words, /not started/, 'restored progress is not shown as not started');
    assert.equal(await page.getByTestId('progress-error').count(), 0);
    await page.waitForFunction(() => document.querySelector('[data-testid="mission-card"]')?.dataset.state === 'solved');
    assert.equal(await page.getByTestId('mission-summary').innerText(), '3 missions · 1 open · 1 solved · 1 locked');
    await page.getByTestId('progress-recovered-dismiss').click();
    await banner.waitFor({ state: 'detached' });
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a progress file that could not be recovered says the missions start over', async () => {
  const message =
    'The progress file was written by a newer KubeQuest (version 2). It was kept as /data/progress.json.v2-20250301T100000Z. KubeQuest started with empty progress.';
  const app = await suite.open(scenario({ get_progress: [{ ok: loaded(undefined, { message, restored: false }) }] }));
  const { page } = app;
  try {
    const banner = page.getByTestId('progress-recovered');
    await banner.waitFor();
    assert.equal(await banner.getAttribute('data-restored'), 'false');
    const words = await banner.innerText();
    assert.match(words, /Your progress could not be recovered\./);
    assert.match(words, /newer KubeQuest \(version 2\)/);
    assert.match(words, /Missions are shown as not started/);
    assert.equal(await page.getByTestId('mission-card').count(), missions.length);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('at 8× the ages and the retry countdown follow the cluster clock, which runs ahead of the page’s', async () => {
  // The page's clock is at T0 + 25 s; the cluster, sped up for a while, is at T0 + 600 s and
  // runs 8 times as fast. Everything it stamps is "in the future" for the page's clock.
  const app = await openMission({ start_mission: [{ ok: (await import('./mission-fixtures.mjs')).session({ clock: clusterClock(600, 8) }) }] });
  const { page } = app;
  try {
    const stuck = stuckAtPull(at(800));
    stuck.createdAt = at(400);
    stuck.stages.find((st) => st.id === 'pulled').evidence.event.lastSeen = at(590);
    const events = [
      { ...pullEvents[0], firstSeen: at(400), lastSeen: at(400) },
      { ...pullEvents[1], firstSeen: at(500), lastSeen: at(590) },
      { ...pullEvents[2], firstSeen: at(510), lastSeen: at(592) },
    ];
    await app.push(upsert(stuck), { kind: 'events', events }, objectives());
    await page.getByTestId('pipeline-rail').waitFor();
    await page.getByTestId('event-row').nth(2).waitFor();

    const screen = await page.getByTestId('mission-screen').innerText();
    assert.doesNotMatch(screen, /<invalid>/, 'no age is computed against the page’s clock');

    // 10 cluster seconds old at the reading, plus 8× the little real time since.
    const ageText = await page.getByTestId('event-row').nth(1).getByTestId('event-age').innerText();
    const ageMatch = ageText.match(/^(\d+)s \(x4 over (\d+)s\)$/);
    assert.ok(ageMatch, `kubectl-style age, got ${ageText}`);
    assert.ok(Number(ageMatch[1]) >= 10 && Number(ageMatch[1]) < 60, `a sensible age, got ${ageText}`);
    assert.ok(Number(ageMatch[2]) >= 100 && Number(ageMatch[2]) < 119, `a sensible span, got ${ageText}`);
    assert.match(await page.getByTestId('latest-event').innerText(), /BackOff \(x3, \d+s ago\)/);

    // The next pull is 200 cluster seconds after the reading.
    const countdown = page.getByTestId('retry-countdown');
    const before = Number(await countdown.getAttribute('data-seconds'));
    assert.ok(before > 150 && before <= 200, `a sensible countdown, got ${before} s`);
    assert.match(await countdown.innerText(), /Next pull attempt in 3m \d\ds/);

    // Two real seconds are sixteen cluster seconds.
    await page.clock.runFor(2000);
    await page.waitForFunction(
      (b) => Number(document.querySelector('[data-testid="retry-countdown"]')?.getAttribute('data-seconds')) <= b - 15,
      before,
    );

    // Back to 1×: the app sends the clock at the change, and time slows down from there.
    await app.push({ kind: 'clock', clock: clusterClock(700, 1) });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="retry-countdown"]')?.getAttribute('data-seconds')) === 100);
    await page.clock.runFor(3000);
    await page.waitForFunction(() => {
      const left = Number(document.querySelector('[data-testid="retry-countdown"]')?.getAttribute('data-seconds'));
      return left >= 95 && left <= 97;
    });
    assert.doesNotMatch(await page.getByTestId('mission-screen').innerText(), /<invalid>/);
    await screenshot(page, '25-mission-at-8x');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

/** The confirmation dialog that is open now (the screen holds more than one). */
const openDialog = (page) => page.locator('[data-testid="confirm-dialog"][data-open="true"]');

test('every event row is visible: a Warning after many Normal rows is not hidden below an inner scroll', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const many = Array.from({ length: 16 }, (_, i) => ({
      type: 'Normal',
      reason: i % 2 ? 'Pulled' : 'Pulling',
      message: `step ${i}`,
      count: 1,
      firstSeen: at(i),
      lastSeen: at(i),
      lastTimestamp: at(i),
      from: 'kubelet',
      object: 'pod/web',
      container: 'web',
    }));
    const warning = { ...pullEvents[2], firstSeen: at(20), lastSeen: at(20), lastTimestamp: at(20) };
    await app.push(upsert(stuckAtPull(at(40))), { kind: 'events', events: [...many, warning] });
    await page.getByTestId('event-row').nth(16).waitFor();
    const box = await page.getByTestId('events-table').evaluate((table) => {
      const panel = table.closest('section');
      let el = table;
      let innerScroll = false;
      while (el && el !== panel) {
        if (el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible') innerScroll = true;
        el = el.parentElement;
      }
      const last = [...table.querySelectorAll('[data-testid="event-row"]')].at(-1);
      return { innerScroll, lastType: last?.dataset.type, lastBottom: last?.getBoundingClientRect().bottom, panelBottom: panel?.getBoundingClientRect().bottom };
    });
    assert.equal(box.innerScroll, false, 'the events panel has no inner vertical scroll that could hide rows');
    assert.equal(box.lastType, 'Warning', 'the Warning is the last row, in describe order');
    assert.ok(box.lastBottom <= box.panelBottom, 'the Warning row lies inside the panel, not clipped below it');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the Apply result appears next to the Apply button, inside the window, and is announced', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))), { kind: 'events', events: pullEvents }, objectives());
    await page.getByTestId('pipeline-rail').waitFor();
    await page.getByTestId('apply-button').click();
    const output = page.getByTestId('action-output');
    await output.waitFor();
    await page.waitForFunction(() => {
      const r = document.querySelector('[data-testid="action-output"]')?.getBoundingClientRect();
      return r && r.top >= 0 && r.bottom <= window.innerHeight;
    });
    const [button, result] = await Promise.all([page.getByTestId('apply-button').boundingBox(), output.boundingBox()]);
    assert.ok(result.y >= button.y + button.height && result.y - (button.y + button.height) < 80, 'the result sits right under the buttons');
    await announced(page, 'Apply done: pod/web configured');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the editor does not move when the diagnosis card goes away because the pod runs again', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtRun(at(100))), { kind: 'events', events: pullEvents }, objectives());
    await page.getByTestId('stuck-panel').waitFor();
    // The learner scrolled down to the editor.
    await page.evaluate(() => {
      const body = document.querySelector('.body');
      if (body) body.scrollTop = body.scrollHeight;
    });
    const cardHeight = () => page.getByTestId('stuck-panel').evaluate((el) => el.getBoundingClientRect().height);
    const cardBefore = await cardHeight();
    const before = await page.getByTestId('manifest-editor').boundingBox();
    // The kubelet restarted the container: running, not ready, nothing stuck right now.
    const again = pipeline('running', 'active', { phase: 'Running', status: 'Running', restarts: 5, restartsText: '5 (1s ago)' });
    await app.push(upsert(again));
    await page.waitForFunction(() => document.querySelector('[data-testid="stuck-panel"]')?.getAttribute('data-settled') === 'true');
    assert.ok((await cardHeight()) >= cardBefore - 1, 'the card keeps its room, so nothing below it moves up');
    const after = await page.getByTestId('manifest-editor').boundingBox();
    assert.deepEqual(after, before, 'the editor keeps its place on the screen');
    assert.equal(await text(page, 'reason-badge'), 'Running again', 'the card stays, in a neutral state');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a change that cannot be made in place is explained in plain words, with Delete and re-apply behind a confirmation', async () => {
  const app = await openMission({ apply_manifest: [{ ok: immutableApply() }] });
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))), objectives());
    await page.getByTestId('pipeline-rail').waitFor();
    await page.getByTestId('apply-button').click();
    const explanation = page.getByTestId('immutable-explanation');
    await explanation.waitFor();
    assert.match(await explanation.innerText(), /cannot be changed in place/);
    assert.match(await text(page, 'immutable-can-change'), /spec\.containers\[\*\]\.image/);
    const server = page.getByTestId('immutable-server-message');
    assert.equal(await server.isVisible(), false, 'the raw server text is folded away');
    await page.getByText('What the server said').click();
    assert.match(await server.innerText(), /pod updates may not change fields other than/);
    await announced(page, 'Delete and re-apply is offered');

    await page.getByTestId('reapply-button').click();
    const dialog = openDialog(page);
    await openDialog(page).waitFor();
    assert.match(await dialog.innerText(), /deleted/);
    assert.equal(await app.calls('reapply_manifest'), 0, 'nothing is deleted before the learner confirms');
    await openDialog(page).getByTestId('confirm-cancel').click();
    assert.equal(await app.calls('reapply_manifest'), 0, 'cancel deletes nothing');

    await page.getByTestId('reapply-button').click();
    await openDialog(page).getByTestId('confirm-accept').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="action-output"]')?.getAttribute('data-action') === 'Delete and re-apply');
    assert.equal(await text(page, 'action-text'), 'pod "web" deleted\npod/web created');
    const sent = await app.argsOf('reapply_manifest');
    assert.equal(sent.length, 1);
    assert.equal(sent[0].file, 'pod.yaml');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('Delete asks first', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    await app.push(upsert(stuckAtPull(at(40))));
    await page.getByTestId('pipeline-rail').waitFor();
    await page.getByTestId('delete-button').click();
    await openDialog(page).waitFor();
    assert.equal(await app.calls('delete_manifest'), 0, 'nothing is deleted before the learner confirms');
    await openDialog(page).getByTestId('confirm-accept').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="action-output"]')?.getAttribute('data-action') === 'Delete');
    assert.equal(await app.calls('delete_manifest'), 1);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('reacting hints and a diagnosis that waits: the cause stays hidden until the learner reads the previous logs, and the ladder says what was not looked at yet', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const gate = (unlocked) => ({
      kind: 'unlocks',
      gates: [{ object: 'web', reason: 'CrashLoopBackOff', unlocked, investigate: 'kubectl logs web -n kq-crash-loop-backoff --previous' }],
    });
    await app.push(upsert(stuckAtRun(at(100))), gate(false));
    await page.getByTestId('pipeline-rail').waitFor();
    // The raw facts stay: the stage, the status, the reason and the evidence.
    assert.equal(await text(page, 'reason-badge'), 'CrashLoopBackOff');
    assert.match(await text(page, 'evidence'), /exitCode = 127/);
    await page.getByTestId('diagnosis-locked').waitFor();
    assert.match(await text(page, 'diagnosis-locked'), /Investigate: run kubectl logs web -n kq-crash-loop-backoff --previous/);
    assert.equal(await page.getByTestId('diagnosis-explanation').count(), 0, 'the cause is not given away');
    assert.equal(await page.getByTestId('diagnosis-commands').count(), 0);
    assert.doesNotMatch(await page.getByTestId('pipeline-rail').innerText(), /exit code 127/, 'the explanation text is nowhere');
    assert.equal(await page.getByTestId('hint-nudge').count(), 0, 'no nudge before the learner did anything');

    await app.push({
      kind: 'nudges',
      nudges: [
        {
          id: 'events-next',
          html: '<p>You have looked at the pod but not at its events: <code>kubectl describe pod web</code> lists them at the bottom.</p>',
          text: 'You have looked at the pod but not at its events: kubectl describe pod web lists them at the bottom.',
        },
      ],
    });
    const nudge = page.getByTestId('hint-nudge');
    await nudge.waitFor();
    assert.equal(await nudge.getAttribute('data-nudge'), 'events-next');
    assert.match(await nudge.innerText(), /not at its events/);
    assert.equal(await nudge.locator('code').innerText(), 'kubectl describe pod web');
    await announced(page, 'You have looked at the pod but not at its events');
    assert.match(await text(page, 'hints-used'), /0 of 3 hints used/, 'a nudge is not a hint');

    await app.push(gate(true), { kind: 'nudges', nudges: [] });
    await page.getByTestId('diagnosis-explanation').waitFor();
    assert.equal(await text(page, 'diagnosis-explanation'), 'The command fails at once with exit code 127.');
    assert.match(await text(page, 'diagnosis-commands'), /kubectl logs web --previous/);
    assert.equal(await page.getByTestId('diagnosis-locked').count(), 0);
    await page.waitForFunction(() => !document.querySelector('[data-testid="hint-nudge"]'));
    await announced(page, 'The explanation of CrashLoopBackOff for web is now shown');
    await app.assertClean();
  } finally {
    await app.close();
  }
});
