// The workload graph on the mission screen, with the IPC mocked and the test playing the
// engine: a rollout (two ReplicaSets, the old pods drain, nothing else moves), a stuck rollout
// (the Deployment broken with ProgressDeadlineExceeded), a selector mismatch (the broken
// Selects edge says why; the Service is where to start), a Pending pod on three nodes (its
// details hold the scheduler's node-by-node table), a node's conditions and its YAML on demand,
// keyboard navigation, the Graph / Pods
// toggle, reduced motion and an idle screen that does not animate.
//
// The updates come from graph-fixtures.mjs `scenarioUpdates`: the engine's recordings when
// they exist, else hand-made ones. The assertions read names from the updates themselves.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenario, screenshot, sharedBrowser } from './harness.mjs';
import { T0, missionAnswers, pipeline, upsert } from './mission-fixtures.mjs';
import { gedge, gnode, graphUpdate, graphsOf, scenarioUpdates } from './graph-fixtures.mjs';

const suite = sharedBrowser();

async function openMission(options = {}, answers = {}) {
  const app = await suite.open(scenario(missionAnswers(answers)), { ...options, beforeLoad: (page) => page.clock.install({ time: T0 + 25_000 }) });
  const { page } = app;
  await page.locator('[data-mission-id="image-pull-backoff"][data-testid="mission-card"]').click();
  await page.getByTestId('start-mission').click();
  await page.locator('[data-testid="mission-screen"][data-phase="running"]').waitFor();
  return app;
}

const nodeSel = (id) => `[data-testid="graph-node"][data-node-id="${id}"]`;

/** A graph the mission screen shows first: a controller or a Service among more than one object. */
const isWorkload = (g) =>
  g.nodes.length > 1 &&
  g.nodes.some((n) => ['service', 'endpoint-slice', 'deployment', 'stateful-set', 'daemon-set', 'cron-job', 'job', 'replica-set'].includes(n.kind));

/** Collects everything the live region says from now on (it only holds the latest line). */
const listen = (page) =>
  page.evaluate(() => {
    window.__KQ_SAID__ = [];
    const el = document.querySelector('[data-testid="announcer"]');
    new MutationObserver(() => window.__KQ_SAID__.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
  });
const said = (page) => page.evaluate(() => window.__KQ_SAID__);

/** Each node's place on the graph's plane (not the screen: the fit scale may change). */
const places = (page) =>
  page.locator('[data-testid="graph-node"]').evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.dataset.nodeId, e.parentElement.style.transform])),
  );

/** Pushes updates one at a time up to and including the `n`th graph (0-based). */
async function playTo(app, updates, n) {
  let seen = -1;
  let i = 0;
  for (; i < updates.length && seen < n; i++) {
    await app.push(updates[i]);
    if (updates[i].kind === 'graph') seen++;
  }
  return updates.slice(i);
}

test('a rollout: a second ReplicaSet appears, the old pods fade and go, and nothing else moves', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const updates = scenarioUpdates('rollout');
    const graphs = graphsOf(updates);
    const startAt = graphs.findIndex(isWorkload);
    assert.ok(startAt >= 0, 'the scenario has a workload graph');
    const first = graphs[startAt];
    const last = graphs[graphs.length - 1];
    let rest = await playTo(app, updates, startAt);

    await page.getByTestId('workload-graph').waitFor();
    assert.equal(await page.getByTestId('workload-view').getAttribute('data-view'), 'graph', 'a workload mission opens on the graph');
    assert.equal(await page.getByTestId('pipeline-rail').count(), 0, 'the pod rails give way to the graph');
    assert.equal(await page.locator('[data-testid="graph-node"]').count(), first.nodes.length);
    await screenshot(page, 'graph-01-rollout-start');

    let bothSeen = false;
    let terminatingSeen = false;
    let railsChecked = 0;
    let previous = { graph: first, places: await places(page) };
    for (let g = startAt + 1; g < graphs.length; g++) {
      rest = await playTo(app, rest, 0);
      const now = graphs[g];
      await page.waitForFunction((count) => document.querySelectorAll('[data-testid="graph-node"]').length >= count, now.nodes.length);
      if (now.nodes.filter((n) => n.kind === 'replica-set').length >= 2) bothSeen = true;
      // Every pod shows its compact rail.
      for (const pod of now.nodes.filter((n) => n.kind === 'pod' && railsChecked < 6)) {
        assert.equal(await page.locator(`${nodeSel(pod.id)} [data-testid="rail-step"]`).count(), pod.rail.length);
        railsChecked++;
      }
      const dying = now.nodes.find((n) => n.kind === 'pod' && n.health === 'terminating');
      if (dying) {
        terminatingSeen = true;
        assert.equal(await page.locator(nodeSel(dying.id)).getAttribute('data-health'), 'terminating');
        await page.waitForFunction((sel) => Number(getComputedStyle(document.querySelector(sel)).opacity) < 0.8, nodeSel(dying.id));
      }
      if (bothSeen && dying && !previous.shot) {
        await screenshot(page, 'graph-02-rollout-draining');
        previous.shot = true;
      }
      // Whatever stays from one graph to the next keeps its place.
      const placed = await places(page);
      for (const n of now.nodes) {
        if (previous.graph.nodes.some((m) => m.id === n.id)) assert.equal(placed[n.id], previous.places[n.id], `${n.id} keeps its place (graph ${g})`);
      }
      previous = { graph: now, places: placed, shot: previous.shot };
    }
    for (const u of rest) await app.push(u);
    assert.ok(bothSeen, 'the new ReplicaSet stands beside the old one during the rollout');
    assert.ok(terminatingSeen, 'old pods are shown terminating before they go');
    assert.ok(railsChecked > 0);

    // The old pods are gone once their fade is over; the new ones are there.
    const seen = new Set(graphs.flatMap((g) => g.nodes.filter((n) => n.kind === 'pod').map((n) => n.id)));
    const gone = [...seen].filter((id) => !last.nodes.some((n) => n.id === id));
    assert.ok(gone.length > 0);
    await page.clock.runFor(1000);
    for (const id of gone) await page.locator(nodeSel(id)).waitFor({ state: 'detached' });
    for (const pod of last.nodes.filter((n) => n.kind === 'pod')) await page.locator(nodeSel(pod.id)).waitFor();
    await screenshot(page, 'graph-03-rollout-done');

    // Rearrange lays the graph out afresh: no row left empty, every object still there.
    await page.getByTestId('graph-tidy').click();
    await page.locator('[data-testid="graph-tidy"][data-spare="0"]').waitFor();
    assert.equal(await page.locator('[data-testid="graph-node"]').count(), last.nodes.length);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a stuck rollout: the Deployment is the broken node, with ProgressDeadlineExceeded as its evidence', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const updates = scenarioUpdates('stuck-rollout');
    for (const u of updates) await app.push(u);
    const graph = graphsOf(updates).at(-1);
    const dep = graph.nodes.find((n) => n.kind === 'deployment');
    const card = page.locator(nodeSel(dep.id));
    await card.waitFor();
    assert.equal(await card.getAttribute('data-health'), 'broken');
    assert.equal(await card.getAttribute('data-focus'), String(graph.focus === dep.id));
    assert.match(await card.getByTestId('node-evidence').innerText(), /ProgressDeadlineExceeded/);
    assert.match(await page.getByTestId('graph-description').innerText(), new RegExp(`Deployment ${dep.name} is broken \\(.*ProgressDeadlineExceeded`));
    assert.equal(await page.locator('[data-testid="graph-node"][data-kind="replica-set"]').count(), 2);

    await card.click();
    const details = page.getByTestId('node-details');
    await details.waitFor();
    assert.equal(await details.getAttribute('data-node-id'), dep.id);
    assert.match(await details.getByTestId('details-evidence').innerText(), /ProgressDeadlineExceeded/);
    const commands = details.getByTestId('details-command');
    assert.equal(await commands.count(), dep.commands.length);
    assert.match(await commands.first().innerText(), new RegExp(dep.commands[0].command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await screenshot(page, 'graph-04-stuck-rollout');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a selector mismatch: the broken Selects edge says why, and the Service is where to start', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const updates = scenarioUpdates('selector-mismatch');
    await listen(page);
    for (const u of updates) await app.push(u);
    const graph = graphsOf(updates).at(-1);
    const broken = graph.edges.filter((e) => e.relation === 'selects' && e.broken);
    assert.ok(broken.length > 0);
    const svcId = broken[0].from;
    assert.equal(graph.focus, svcId, 'the engine points at the Service');

    await page.getByTestId('workload-graph').waitFor();
    const edges = page.locator(`[data-testid="graph-edge"][data-relation="selects"][data-broken="true"]`);
    assert.equal(await edges.count(), broken.length);
    assert.notEqual(await edges.first().evaluate((e) => getComputedStyle(e).stroke), await page.locator('[data-testid="graph-edge"][data-broken="false"]').first().evaluate((e) => getComputedStyle(e).stroke), 'a broken edge is drawn differently');
    const why = page.locator(`[data-testid="edge-why"][data-from="${svcId}"][data-relation="selects"]`);
    assert.equal(await why.count(), 1, 'the why is shown once for the Service’s selects edges');
    assert.match(await why.innerText(), new RegExp(broken[0].why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await why.isVisible(), true);

    const svc = page.locator(nodeSel(svcId));
    assert.equal(await svc.getAttribute('data-focus'), 'true');
    assert.equal(await svc.getAttribute('tabindex'), '0', 'the Service is the graph’s tab stop');
    assert.equal(await page.locator('[data-testid="graph-node"][tabindex="0"]').count(), 1, 'one tab stop only');
    const svcName = graph.nodes.find((n) => n.id === svcId).name;
    assert.match(await page.getByTestId('graph-description').innerText(), new RegExp(`Service ${svcName} selects no pods \\(`));
    assert.match(await page.getByTestId('graph-description').innerText(), new RegExp(`Start with Service ${svcName}\\.`));
    await page.waitForTimeout(100);
    assert.ok((await said(page)).some((line) => line.includes(`Service ${svcName} selects no pods`)), 'the live region said it');
    await screenshot(page, 'graph-05-selector-mismatch');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a Pending pod on three nodes: its details show the scheduler’s node-by-node table', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const updates = scenarioUpdates('pending-pod');
    for (const u of updates) await app.push(u);
    const graph = graphsOf(updates).at(-1);
    const view = graph.scheduling[0];
    const pod = graph.nodes.find((n) => n.kind === 'pod' && n.name === view.pod);
    await page.locator(nodeSel(pod.id)).click();
    const table = page.getByTestId('scheduling-table');
    await table.waitFor();
    assert.equal(await table.getAttribute('data-pod'), view.pod);
    const rows = table.getByTestId('scheduling-node');
    assert.equal(await rows.count(), view.nodes.length);
    assert.equal(view.nodes.length, 3);
    for (const n of view.nodes) {
      const row = table.locator(`[data-testid="scheduling-node"][data-node="${n.node}"]`);
      assert.equal(await row.getAttribute('data-fits'), String(n.fits));
      for (const f of n.filters.filter((x) => !x.passed)) {
        const cell = row.locator(`[data-testid="scheduling-filter"][data-filter="${f.filter}"]`);
        assert.equal(await cell.getAttribute('data-passed'), 'false');
        assert.match(await cell.innerText(), new RegExp(f.detail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      }
    }
    if (view.message) assert.equal(await table.getByTestId('scheduling-message').innerText(), view.message);
    // The pod's full rail is in the details too.
    assert.equal(await page.getByTestId('node-details').getByTestId('pipeline-rail').count(), 1);
    await screenshot(page, 'graph-06-pending-scheduling');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the keyboard moves between nodes by geometry; Enter opens the details, Escape closes them', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const updates = scenarioUpdates('selector-mismatch');
    for (const u of updates) await app.push(u);
    const graph = graphsOf(updates).at(-1);
    await page.getByTestId('workload-graph').waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.dataset?.nodeId ?? null);
    const box = (id) => page.locator(nodeSel(id)).boundingBox();

    // Tab reaches the graph's single tab stop: the node to start with.
    await page.getByTestId('view-pods').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'graph-node' || document.activeElement?.dataset?.testid?.startsWith('zoom'));
    await page.locator('[data-testid="graph-node"][tabindex="0"]').focus();
    assert.equal(await focused(), graph.focus);

    const start = await box(graph.focus);
    await page.keyboard.press('ArrowRight');
    const right = await focused();
    assert.notEqual(right, graph.focus);
    assert.ok((await box(right)).x > start.x, 'ArrowRight goes right');
    assert.equal(await page.locator('[data-testid="graph-node"][tabindex="0"]').getAttribute('data-node-id'), right, 'the tab stop follows');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focused(), graph.focus, 'ArrowLeft comes back');

    await page.keyboard.press('End');
    const last = await focused();
    const lastBox = await box(last);
    for (const id of graph.nodes.map((n) => n.id)) assert.ok((await box(id)).x <= lastBox.x, 'End goes to the last column');
    await page.keyboard.press('Home');
    const first = await focused();
    const firstBox = await box(first);
    for (const id of graph.nodes.map((n) => n.id)) assert.ok((await box(id)).x >= firstBox.x, 'Home goes to the first column');

    // Down a column: the pods.
    const pods = graph.nodes.filter((n) => n.kind === 'pod');
    const boxes = await Promise.all(pods.map((p) => box(p.id)));
    const top = pods[boxes.indexOf(boxes.reduce((a, b) => (b.y < a.y ? b : a)))];
    await page.locator(nodeSel(top.id)).focus();
    await page.keyboard.press('ArrowDown');
    const below = await focused();
    assert.ok(pods.some((p) => p.id === below) && below !== top.id, 'ArrowDown goes to the pod below');
    assert.ok((await box(below)).y > (await box(top.id)).y);

    await page.keyboard.press('Enter');
    const details = page.getByTestId('node-details');
    await details.waitFor();
    assert.equal(await details.getAttribute('data-node-id'), below);
    assert.equal(await page.locator(nodeSel(below)).getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Escape');
    await details.waitFor({ state: 'detached' });
    assert.equal(await focused(), below, 'Escape returns to the node');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a tall graph scrolls within itself to show the node to start with', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    const dep = gnode('deployment', 'web', 'progressing', { summary: '11/12 ready' });
    const rs = gnode('replica-set', 'web-1', 'progressing', { summary: '11/12 ready' });
    const pods = Array.from({ length: 12 }, (_, i) => gnode('pod', `web-1-p${String(i).padStart(2, '0')}`, 'ok', { summary: 'Running' }));
    const edges = [gedge(dep, rs, 'owns'), ...pods.map((p) => gedge(rs, p, 'owns'))];
    await app.push(graphUpdate([dep, rs, ...pods], edges));
    await page.locator(nodeSel(pods[11].id)).waitFor();
    // Then the engine points at the pod lowest on the graph.
    const ys = await Promise.all(pods.map((p) => page.locator(nodeSel(p.id)).evaluate((e) => e.parentElement.style.transform)));
    const lowest = pods[ys.map((t) => Number(/,\s*([\d.]+)px/.exec(t)[1])).reduce((best, y, i, all) => (y > all[best] ? i : best), 0)];
    const last = { ...lowest, health: 'broken', summary: 'CrashLoopBackOff' };
    await app.push(graphUpdate([dep, rs, ...pods.map((p) => (p.id === last.id ? last : p))], edges, last.id));
    const viewport = page.getByTestId('graph-viewport');
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-viewport"]').scrollTop > 0);
    const v = await viewport.boundingBox();
    const n = await page.locator(nodeSel(last.id)).boundingBox();
    assert.ok(n.y >= v.y && n.y + n.height <= v.y + v.height + 1, 'the start node is inside the graph’s view');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('Graph / Pods: the toggle shows the pod rails and back; a single-pod mission keeps the rails first', async () => {
  const app = await openMission();
  const { page } = app;
  try {
    // A lone pod with its ConfigMap: the rail view, the graph one click away.
    const pod = gnode('pod', 'web', 'broken', { summary: 'CreateContainerConfigError', rail: [] });
    const cm = gnode('config-map', 'settings', 'missing', { summary: 'not found', commands: [] });
    await app.push(
      upsert(pipeline('pulled', 'stuck')),
      graphUpdate([pod, cm], [gedge(pod, cm, 'mounts', true, 'configmap "settings" not found')], pod.id),
    );
    const section = page.getByTestId('workload-view');
    await section.waitFor();
    assert.equal(await section.getAttribute('data-view'), 'pods');
    assert.equal(await page.getByTestId('pipeline-rail').count(), 1);
    assert.equal(await page.getByTestId('view-pods').getAttribute('aria-pressed'), 'true');

    await page.getByTestId('view-graph').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('workload-graph').waitFor();
    assert.equal(await page.getByTestId('view-graph').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('pipeline-rail').count(), 0);
    assert.match(await page.locator('[data-testid="edge-why"]').innerText(), /configmap "settings" not found/);

    await page.getByTestId('view-pods').click();
    await page.getByTestId('pipeline-rail').waitFor();
    assert.equal(await page.getByTestId('workload-graph').count(), 0);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('idle and with reduced motion: the graph does not animate', async () => {
  const app = await openMission({ media: { reducedMotion: 'reduce' } });
  const { page } = app;
  try {
    const updates = scenarioUpdates('rollout');
    for (const u of updates) await app.push(u);
    await page.getByTestId('workload-graph').waitFor();
    // On the graph, nothing takes time: the app's reduced-motion rule cuts CSS transitions to
    // 1 ms and the graph's own fades to none.
    const slow = () =>
      page.evaluate(() =>
        document
          .getAnimations()
          .filter((a) => a.effect?.target?.closest?.('[data-testid="workload-graph"]'))
          .filter((a) => Number(a.effect?.getTiming().duration) > 1)
          .map((a) => `${a.effect?.target?.dataset?.testid ?? a.effect?.target?.className ?? '?'}`),
      );
    assert.deepEqual(await slow(), [], 'no motion on the graph with reduced motion');
    // Whatever leaves, leaves at once.
    const graphs = graphsOf(updates);
    const seen = new Set(graphs.flatMap((g) => g.nodes.map((n) => n.id)));
    const gone = [...seen].filter((id) => !graphs.at(-1).nodes.some((m) => m.id === id));
    assert.ok(gone.length > 0);
    for (const id of gone) assert.equal(await page.locator(nodeSel(id)).count(), 0);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('idle with motion allowed: nothing on the graph keeps animating', async () => {
  const app = await openMission({ media: { colorScheme: 'dark' } });
  const { page } = app;
  try {
    for (const u of scenarioUpdates('stuck-rollout')) await app.push(u);
    await page.getByTestId('workload-graph').waitFor();
    await page.clock.runFor(2000);
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity));
    const infinite = await page.evaluate(() =>
      document
        .getAnimations()
        .filter((a) => a.playState === 'running' && a.effect?.getTiming().iterations === Infinity)
        .map((a) => a.effect?.target?.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(infinite, [], 'no endless animation while the graph is shown');
    await screenshot(page, 'graph-07-dark');

    // Nor with the details of a stuck pod open (its rail's ring stays, still).
    const stuck = page.locator('[data-testid="graph-node"][data-kind="pod"][data-health="broken"]').first();
    await stuck.click();
    await page.getByTestId('node-details').getByTestId('pipeline-rail').waitFor();
    assert.equal(await page.getByTestId('node-details').getByTestId('stage-pulse').count(), 1);
    await page.clock.runFor(1000);
    const stillInfinite = await page.evaluate(() =>
      document.getAnimations().filter((a) => a.playState === 'running' && a.effect?.getTiming().iterations === Infinity).length,
    );
    assert.equal(stillInfinite, 0, 'no endless animation in the details either');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a node’s details: its conditions as a table, and its YAML read on demand with the kubectl command', async () => {
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 4\nstatus:\n  replicas: 4\n';
  const app = await openMission(
    {},
    {
      object_yaml: [{ ok: yaml, delayMs: 400 }, { err: { kind: 'cluster', message: 'pods "gone" not found' } }],
    },
  );
  const { page } = app;
  try {
    const updates = scenarioUpdates('stuck-rollout');
    for (const u of updates) await app.push(u);
    const graph = graphsOf(updates).at(-1);
    const dep = graph.nodes.find((n) => n.kind === 'deployment');
    const stuck = dep.conditions.find((c) => c.reason === 'ProgressDeadlineExceeded');
    assert.ok(stuck, 'the stuck Deployment carries its Progressing condition');

    await page.locator(nodeSel(dep.id)).click();
    const details = page.getByTestId('node-details');
    await details.waitFor();
    assert.equal(await details.getByTestId('details-condition').count(), dep.conditions.length);
    const row = details.locator(`[data-testid="details-condition"][data-type="${stuck.type}"]`);
    assert.equal(await row.getAttribute('data-bad'), 'true');
    const cells = await row.locator('td').allInnerTexts();
    assert.deepEqual(cells.slice(0, 3), ['Progressing', 'False', 'ProgressDeadlineExceeded']);
    assert.equal(cells[3], stuck.message);

    // The YAML waits for the learner; its command is there already.
    const section = details.getByTestId('details-yaml-section');
    assert.equal(await section.getAttribute('data-state'), 'idle');
    assert.equal(await details.getByTestId('details-yaml-command').innerText(), `kubectl get deployment ${dep.name} -n ${graph.namespace} -o yaml`);
    assert.equal(await details.getByTestId('details-yaml').count(), 0);
    await details.getByTestId('details-yaml-show').click();
    await page.locator('[data-testid="details-yaml-section"][data-state="loading"]').waitFor();
    assert.equal(await details.getByTestId('details-yaml-show').isDisabled(), true, 'one read at a time');
    const pre = details.getByTestId('details-yaml');
    await pre.waitFor();
    assert.equal(await pre.textContent(), yaml);
    assert.equal(await pre.evaluate((el) => el.tagName), 'PRE');
    assert.match(await pre.evaluate((el) => getComputedStyle(el).fontFamily), /mono/i);
    assert.equal(await details.getByTestId('copy-yaml').count(), 1);
    assert.equal(await details.getByTestId('details-yaml-show').count(), 0);
    assert.deepEqual(await app.argsOf('object_yaml'), [{ id: 'image-pull-backoff', kind: 'deployment', name: dep.name }]);
    await screenshot(page, 'graph-09-details-yaml');

    // A pod whose YAML cannot be read says why, and may try again.
    const pod = graph.nodes.find((n) => n.kind === 'pod' && n.health !== 'missing');
    await page.locator(nodeSel(pod.id)).click();
    await page.locator(`[data-testid="node-details"][data-node-id="${pod.id}"]`).waitFor();
    assert.equal(await section.getAttribute('data-state'), 'idle', 'another node starts without YAML');
    await details.getByTestId('details-yaml-show').click();
    await details.getByTestId('details-yaml-error').waitFor();
    assert.match(await details.getByTestId('details-yaml-error').innerText(), /pods "gone" not found/);
    assert.equal(await details.getByTestId('details-yaml-show').innerText(), 'Try again');

    // A missing object has nothing to read.
    const missing = gnode('config-map', 'settings', 'missing', { uid: null, evidence: ['configmap "settings" not found'] });
    await app.push(graphUpdate([...graph.nodes, missing], [...graph.edges, gedge(pod, missing, 'mounts', true, 'configmap "settings" not found')], graph.focus));
    await page.locator(nodeSel(missing.id)).click();
    await page.locator(`[data-testid="node-details"][data-node-id="${missing.id}"]`).waitFor();
    assert.equal(await details.getByTestId('details-yaml-section').count(), 0);
    assert.equal(await details.getByTestId('details-yaml-show').count(), 0);
    assert.equal(await details.getByTestId('details-conditions').count(), 0);
    await app.assertClean();
  } finally {
    await app.close();
  }
});
