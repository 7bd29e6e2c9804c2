// The workload graph in the real KubeQuest window, on a Deployment mission from a lessons folder
// of its own (lessons-graph/: the bundled curriculum has no Deployment mission yet). The mission
// applies a Deployment of three nginx pods and a Service whose selector (app=web-frontend) misses
// their label (app=web). The graph must show the Service broken, with the broken "selects" edge
// saying which label differs; then the Service is patched through the embedded cluster's API over
// HTTPS (the kubeconfig the app wrote, as kubectl would), and the graph must turn healthy and the
// mission be solved.
//
// The broken graph is saved at 1280×800 into the test artifacts; with KQ_UPDATE_SCREENSHOTS=1 it
// also replaces tests/e2e/screenshots/desktop-graph.png, the picture the README shows.

import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { By, clusterCall, embeddedCluster, freshHome, launch, screenshot, startMission, until } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MISSION = 'deployment-selector';
const NAMESPACE = `kq-${MISSION}`;
const SERVICE = 'Service/web';

const home = freshHome();
home.env.KUBEQUEST_LESSONS = path.join(here, 'lessons-graph');
home.env.KUBEQUEST_SPEED = '8';

const css = (selector) => By.css(selector);
const testid = (id) => css(`[data-testid="${id}"]`);

/// What the graph shows right now, read in one round trip.
const graphState = (session) =>
  session.executeScript(() => {
    const nodes = [...document.querySelectorAll('[data-testid="graph-node"]')].map((n) => ({
      id: n.getAttribute('data-node-id'),
      kind: n.getAttribute('data-kind'),
      health: n.getAttribute('data-health'),
    }));
    const edges = [...document.querySelectorAll('[data-testid="graph-edge"]')].map((e) => ({
      from: e.getAttribute('data-from'),
      to: e.getAttribute('data-to'),
      relation: e.getAttribute('data-relation'),
      broken: e.getAttribute('data-broken') === 'true',
    }));
    const notes = [...document.querySelectorAll('[data-testid="edge-why"]')].map((n) => ({
      from: n.getAttribute('data-from'),
      relation: n.getAttribute('data-relation'),
      text: n.textContent.replace(/\s+/g, ' ').trim(),
    }));
    return { nodes, edges, notes };
  });

const waitFor = async (session, what, ms, ok) => {
  let last = null;
  try {
    await session.wait(async () => {
      last = await graphState(session);
      return ok(last);
    }, ms);
  } catch {
    assert.fail(`${what} within ${ms} ms; the graph showed ${JSON.stringify(last)}`);
  }
  return last;
};

const readyPods = (g) => g.nodes.filter((n) => n.kind === 'pod' && n.health === 'ok').length;

let app;

after(async () => {
  await app?.quit();
});

test('the workload graph: a Service selector that misses the Deployment\'s pods, broken then fixed', async (t) => {
  app = await launch(home);
  const { session } = app;

  await t.test('the Deployment mission starts on the embedded cluster and opens on the graph', async () => {
    await startMission(session, MISSION);
    const view = await session.wait(until.elementLocated(testid('workload-view')), 30_000, 'a Deployment mission has a graph');
    if ((await view.getAttribute('data-view')) !== 'graph') await session.findElement(testid('view-graph')).click();
    await session.wait(until.elementLocated(testid('workload-graph')), 10_000);
  });

  await t.test('the Service is broken and its broken edge names the selector', async () => {
    const g = await waitFor(
      session,
      'the Service broken, three Ready pods, the Deployment fine and a "selects" note',
      60_000,
      // The Deployment turns fine once its controller has counted the Ready pods as
      // available, a sync after the pods themselves: it is waited for with them.
      (s) =>
        s.nodes.some((n) => n.id === SERVICE && n.health === 'broken') &&
        readyPods(s) === 3 &&
        s.nodes.some((n) => n.kind === 'deployment' && n.health === 'ok') &&
        s.notes.some((n) => n.from === SERVICE && n.relation === 'selects'),
    );
    const selects = g.edges.filter((e) => e.from === SERVICE && e.relation === 'selects');
    assert.equal(selects.length, 3, `the Service points at the three pods it was meant for: ${JSON.stringify(selects)}`);
    assert.ok(selects.every((e) => e.broken), 'every one of those edges is broken');
    const note = g.notes.find((n) => n.from === SERVICE && n.relation === 'selects');
    assert.match(note.text, /selector app=web-frontend/, `the why names the Service's selector: ${note.text}`);
    assert.match(note.text, /app=web\b/, `the why names the pods' label: ${note.text}`);

    // At the screen's corner: a window reaching past the Xvfb screen's bottom is not painted there.
    await session.manage().window().setRect({ x: 0, y: 0, width: 1280, height: 800 });
    await session.wait(async () => {
      const size = await session.executeScript(() => [window.innerWidth, window.innerHeight]);
      return size[0] === 1280 && size[1] === 800;
    }, 5_000).catch(() => {});
    // Let the graph fit itself to the new size before the picture.
    await new Promise((r) => setTimeout(r, 1000));
    const file = await screenshot(session, 'graph-01-broken-selector');
    if (process.env.KQ_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(file, path.join(here, '..', 'screenshots', 'desktop-graph.png'));
    }
  });

  await t.test('patching the selector through the cluster turns the graph healthy and solves the mission', async () => {
    const cluster = embeddedCluster(home);
    const patched = await clusterCall(
      cluster,
      'PATCH',
      `/api/v1/namespaces/${NAMESPACE}/services/web`,
      { spec: { selector: { app: 'web' } } },
      'application/merge-patch+json',
    );
    assert.deepEqual(patched.spec.selector, { app: 'web' }, 'the API server took the patch');
    const g = await waitFor(
      session,
      'the Service healthy, selecting the three pods, with no broken edge',
      60_000,
      (s) =>
        s.nodes.some((n) => n.id === SERVICE && n.health === 'ok') &&
        s.edges.filter((e) => e.from === SERVICE && e.relation === 'selects' && !e.broken).length === 3 &&
        !s.edges.some((e) => e.broken),
    );
    assert.deepEqual(g.notes, [], 'no why note is left');
    assert.ok(
      g.nodes.filter((n) => n.kind === 'endpoint-slice').every((n) => n.health === 'ok'),
      `the EndpointSlice lists ready endpoints: ${JSON.stringify(g.nodes)}`,
    );
    const screen = await session.findElement(testid('mission-screen'));
    await session.wait(async () => (await screen.getAttribute('data-phase')) === 'solved', 30_000, 'the mission should be solved');
    await screenshot(session, 'graph-02-fixed');
  });
});
