// A whole mission in the real KubeQuest window on its embedded cluster: the ImagePullBackOff
// mission starts, the pipeline rail shows the pod stuck at pull with the kubelet's reason, the
// learner points the image at a tag that exists in the CodeMirror editor and presses Apply, the
// rail reaches ready, the debrief opens, and after quitting and relaunching the app (same data
// folder) the mission map shows the mission as solved.
//
// The cluster runs at KUBEQUEST_SPEED (8× real time) so back-offs and pulls take seconds. The
// mission requires the first one and chapters open in order, so the learner's progress file is
// seeded with the whole Pods chapter solved, in the format `kq progress` and the app share.
//
// Along the way the test checks what only the real WebKitGTK window can tell: CodeMirror styles
// itself inside its shadow root (adoptedStyleSheets) and nothing breaks the window's CSP.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { By, freshHome, launch, screenshot, until } from './harness.mjs';

const MISSION = 'image-pull-backoff';
const BROKEN_IMAGE = 'nginx:nonexistent-tag-xyz-123';
const FIXED_IMAGE = 'nginx:1.27';
const SPEED = '8';

const home = freshHome();
home.env.KUBEQUEST_SPEED = SPEED;

/// The bundled Pods chapter, solved, so the ImagePullBackOff mission (the Images chapter's
/// first) is open.
const POD_CHAPTER = ['crash-loop-backoff', 'completed-crash-loop', 'oom-killed', 'run-container-error', 'init-container-waiting'];
const seedProgress = () => {
  const dir = path.join(home.env.XDG_DATA_HOME, 'dev.kubequest.desktop');
  mkdirSync(dir, { recursive: true });
  const solved = {
    status: 'solved',
    attempts: 1,
    hintsUsed: 0,
    startedAt: '2026-01-05T09:00:00Z',
    solvedAt: '2026-01-05T09:04:00Z',
    timeToFixSeconds: 240,
  };
  const progress = {
    version: 1,
    learner: null,
    missions: Object.fromEntries(POD_CHAPTER.map((id) => [id, solved])),
  };
  writeFileSync(path.join(dir, 'progress.json'), `${JSON.stringify(progress, null, 2)}\n`);
};

const css = (selector) => By.css(selector);
const testid = (id) => css(`[data-testid="${id}"]`);

/// Collects CSP violations from now on (WebKitWebDriver has no console log endpoint).
const watchCsp = (session) =>
  session.executeScript(() => {
    window.__kqCspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__kqCspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });

const cspViolations = (session) => session.executeScript(() => window.__kqCspViolations ?? ['(the CSP watcher was not installed)']);

let app;

before(() => {
  seedProgress();
});

after(async () => {
  await app?.quit();
});

test('the ImagePullBackOff mission: stuck at pull, fixed in the editor, solved, still solved after a restart', async (t) => {
  app = await launch(home);
  const { session } = app;

  await t.test('the mission map offers the mission, opened by the first one', async () => {
    const card = await session.wait(
      until.elementLocated(css(`[data-testid="mission-card"][data-mission-id="${MISSION}"]`)),
      20_000,
      'the mission map never listed the ImagePullBackOff mission',
    );
    await session.wait(async () => (await card.getAttribute('data-state')) === 'open', 10_000).catch(() => {});
    assert.equal(await card.getAttribute('data-state'), 'open', 'the seeded progress (first mission solved) opens the second');
    await watchCsp(session);
    await card.click();
    await screenshot(session, 'mission-01-map');
  });

  await t.test('starting it shows the pod stuck at pull with the kubelet\'s reason', async () => {
    const start = await session.wait(
      until.elementLocated(css(`[data-testid="start-mission"][data-mission-id="${MISSION}"]`)),
      10_000,
      'the details panel of an open mission has a start button',
    );
    await start.click();
    const screen = await session.wait(until.elementLocated(testid('mission-screen')), 10_000);
    await session.wait(
      async () => (await screen.getAttribute('data-phase')) === 'running',
      60_000,
      'the mission should start on the embedded cluster',
    );
    const pulled = await session.wait(until.elementLocated(testid('stage-pulled')), 20_000, 'the rail has a pull stage');
    await session.wait(
      async () => (await pulled.getAttribute('data-state')) === 'stuck',
      30_000,
      'the pod should get stuck at pull',
    );
    const badge = await session.wait(until.elementLocated(testid('reason-badge')), 10_000);
    await session.wait(async () => /ImagePullBackOff|ErrImagePull/.test(await badge.getText()), 10_000).catch(() => {});
    assert.match(await badge.getText(), /ImagePullBackOff|ErrImagePull/, 'the stuck stage names the kubelet\'s reason');
    const marker = await session.findElement(testid('pod-marker'));
    assert.equal(await marker.getAttribute('data-stage'), 'pulled', 'the pod marker sits at the pull stage');
    await screenshot(session, 'mission-02-stuck-at-pull');
  });

  await t.test('CodeMirror is styled in its shadow root under the window\'s CSP', async () => {
    await session.wait(until.elementLocated(testid('manifest-editor')), 10_000);
    const probe = await session.executeScript(() => {
      const host = document.querySelector('[data-testid="manifest-editor"]');
      const root = host?.shadowRoot;
      const editor = root?.querySelector('.cm-editor');
      const gutters = root?.querySelector('.cm-gutters');
      const content = root?.querySelector('.cm-content');
      return {
        shadow: Boolean(root),
        adopted: root && 'adoptedStyleSheets' in root ? root.adoptedStyleSheets.length : -1,
        styleElements: root ? root.querySelectorAll('style').length : -1,
        editorDisplay: editor ? getComputedStyle(editor).display : null,
        gutterDisplay: gutters ? getComputedStyle(gutters).display : null,
        contentWhiteSpace: content ? getComputedStyle(content).whiteSpace : null,
        text: content?.textContent ?? '',
      };
    });
    assert.ok(probe.shadow, 'the editor lives in an open shadow root');
    assert.ok(probe.adopted > 0, `WebKitGTK adopts CodeMirror's stylesheets in the shadow root (adoptedStyleSheets: ${probe.adopted}, <style> elements: ${probe.styleElements})`);
    assert.equal(probe.editorDisplay, 'flex', 'the base theme applies (.cm-editor is a flex box)');
    assert.equal(probe.gutterDisplay, 'flex', 'the line-number gutter is styled');
    assert.equal(probe.contentWhiteSpace, 'pre', 'the content keeps its whitespace, as CodeMirror styles it');
    assert.ok(probe.text.includes(BROKEN_IMAGE), 'the editor opens the broken manifest');
  });

  await t.test('pointing the image at a tag that exists and applying gets the pod ready', async () => {
    const edited = await session.executeScript(
      (from, to) => {
        const content = document.querySelector('[data-testid="manifest-editor"]').shadowRoot.querySelector('.cm-content');
        // What EditorView.findFromDOM does: the content element carries CodeMirror's view tile.
        const view = content.cmTile?.root?.view ?? content.cmView?.rootView?.view;
        if (!view) return 'no EditorView on .cm-content';
        const text = view.state.doc.toString();
        const at = text.indexOf(from);
        if (at < 0) return `the manifest does not contain ${from}`;
        view.focus();
        view.dispatch({ changes: { from: at, to: at + from.length, insert: to }, userEvent: 'input.type' });
        return view.state.doc.toString();
      },
      BROKEN_IMAGE,
      FIXED_IMAGE,
    );
    assert.ok(edited.includes(`image: ${FIXED_IMAGE}`), `the editor now asks for ${FIXED_IMAGE}: ${edited}`);
    await screenshot(session, 'mission-03-edited');
    await session.findElement(testid('apply-button')).click();
    const output = await session.wait(until.elementLocated(testid('action-output')), 20_000, 'Apply shows kubectl\'s output');
    await session.wait(async () => (await output.getAttribute('data-ok')) !== null, 5_000);
    const text = await session.findElement(testid('action-text')).getText();
    assert.equal(await output.getAttribute('data-ok'), 'true', `the apply succeeds: ${text}`);
    assert.match(text, /pod\/web configured/, 'kubectl apply reports the pod as configured');
    const rail = await session.findElement(testid('pipeline-rail'));
    await session.wait(
      async () => (await rail.getAttribute('data-marker-state')) === 'ready',
      60_000,
      'the rail should reach ready once the image pulls',
    );
    await screenshot(session, 'mission-04-ready');
  });

  await t.test('the debrief opens when every objective holds', async () => {
    const screen = await session.findElement(testid('mission-screen'));
    await session.wait(async () => (await screen.getAttribute('data-phase')) === 'solved', 30_000, 'the mission should be solved');
    const debrief = await session.wait(until.elementLocated(testid('debrief')), 10_000);
    await session.wait(async () => (await debrief.getText()).trim().length > 0, 10_000).catch(() => {});
    assert.ok((await debrief.getText()).trim().length > 100, 'the debrief shows the lesson\'s text');
    await screenshot(session, 'mission-05-debrief');
    const violations = await cspViolations(session);
    assert.deepEqual(violations, [], `no CSP violation in the window:\n${violations.join('\n')}`);
  });

  await t.test('after quitting and relaunching, the mission map shows the mission as solved', async () => {
    await app.quit();
    app = await launch(home);
    const relaunched = app.session;
    const card = await relaunched.wait(
      until.elementLocated(css(`[data-testid="mission-card"][data-mission-id="${MISSION}"]`)),
      20_000,
      'the mission map lists the mission after a restart',
    );
    await relaunched.wait(async () => (await card.getAttribute('data-state')) === 'solved', 10_000).catch(() => {});
    assert.equal(await card.getAttribute('data-state'), 'solved', 'progress survives the restart');
    // The Scheduling chapter opens only once the whole Images chapter is solved.
    const next = await relaunched.findElement(css('[data-testid="mission-card"][data-mission-id="pending-insufficient-cpu"]'));
    assert.equal(await next.getAttribute('data-state'), 'locked', 'the next chapter waits for this one');
    const hint = await next.findElement(testid('unlock-hint')).getText();
    assert.match(hint, /^Finish the Images chapter first \(\d missions? left\)$/, hint);
    await card.click();
    await screenshot(relaunched, 'mission-06-map-after-restart');
  });
});
