// The terminal beside the mission, in the real KubeQuest window: the learner starts the first
// mission, opens the terminal, types `kubectl get pods` and reads the mission's pod table in the
// window, because the shell's KUBECONFIG points at the embedded cluster with the mission
// namespace as the default. The terminal is drawn by xterm.js under the window's strict CSP, so
// the test also checks that its measured sizes and theme colours reach the page.
//
// A second launch gives the app a PATH without kubectl: the terminal then says so, and how to
// install it, before the prompt.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Key } from 'selenium-webdriver';
import { By, freshHome, launch, screenshot, startMission, until } from './harness.mjs';

const MISSION = 'crash-loop-backoff';
const NAMESPACE = `kq-${MISSION}`;

const css = (selector) => By.css(selector);
const testid = (id) => css(`[data-testid="${id}"]`);

/// The pod the mission's manifests create, read from the lesson so the test follows it.
const missionPod = () => {
  const root = process.env.KUBEQUEST_LESSONS;
  assert.ok(root, 'KUBEQUEST_LESSONS must point at the lessons folder');
  const folder = readdirSync(root).find((d) => d.endsWith(MISSION));
  assert.ok(folder, `the lessons folder has the ${MISSION} mission`);
  const dir = path.join(root, folder, 'manifests');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    if (/^kind:\s*Pod\s*$/m.test(text)) return /^ {2}name:\s*(\S+)/m.exec(text)[1];
  }
  throw new Error(`${dir} has no Pod manifest`);
};

/// A PATH on which kubectl is found: the tier's own, else the Cloud SDK's folder of kubectls.
const pathWithKubectl = () => {
  const current = process.env.PATH ?? '';
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return current;
  } catch {
    return `/usr/lib/google-cloud-sdk/bin:${current}`;
  }
};

/// A PATH with no kubectl: a folder holding only the WebDriver the harness's tauri-driver starts.
const pathWithoutKubectl = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kubequest-no-kubectl-'));
  const driver = execFileSync('sh', ['-c', 'command -v WebKitWebDriver'], { encoding: 'utf8' }).trim();
  symlinkSync(driver, path.join(dir, 'WebKitWebDriver'));
  return dir;
};

/// What the terminal shows now: the text of xterm.js's rows, one line each.
const screenText = (session) =>
  session.executeScript(() => {
    const rows = document.querySelector('[data-testid="terminal-screen"] .xterm-rows');
    return rows ? [...rows.children].map((r) => r.textContent.replace(/\u00a0/g, ' ')).join('\n') : '';
  });

const waitForScreen = async (session, check, ms, what) => {
  let text = '';
  await session
    .wait(async () => {
      text = await screenText(session);
      return check(text);
    }, ms)
    .catch(() => {});
  assert.ok(check(text), `${what}; the terminal shows:\n${text}`);
  return text;
};

/// Starts the first mission (open from the start) and opens its terminal.
const startMissionAndOpenTerminal = async (session) => {
  await startMission(session, MISSION);
  await session.executeScript(() => {
    window.__kqCspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__kqCspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI || 'inline', sample: e.sample });
    });
  });
  const open = await session.wait(until.elementLocated(testid('terminal-open')), 10_000, 'the mission screen offers a terminal');
  // Scrolled to as a learner would, with the screen's own scroller (the window itself never
  // scrolls: the title bar stays), then pressed.
  await session.executeScript((el) => {
    for (let box = el.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowY;
      if ((overflow === 'auto' || overflow === 'scroll') && box.scrollHeight > box.clientHeight) {
        box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 120;
        break;
      }
    }
  }, open);
  await open.click();
  const panel = await session.findElement(testid('terminal-panel'));
  await session.wait(async () => (await panel.getAttribute('data-state')) === 'open', 20_000, 'the terminal should open');
  return panel;
};

const ENTER = '\uE007';
const ESCAPE = '\uE00C';

/// Types as the learner does: key presses into whatever has the keyboard (the terminal).
const type = (session, text) => session.actions().sendKeys(text).perform();

let app;

after(async () => {
  await app?.quit();
  app = undefined;
});

test('kubectl get pods in the terminal lists the mission’s pod', async () => {
  const home = freshHome();
  home.env.PATH = pathWithKubectl();
  home.env.SHELL = '/bin/bash';
  home.env.KUBEQUEST_SPEED = '8';
  app = await launch(home);
  const { session } = app;
  const pod = missionPod();

  await startMissionAndOpenTerminal(session);
  await waitForScreen(session, (t) => /kubequest:\S+[$#]/.test(t), 20_000, 'the shell shows its prompt');
  const focused = await session.executeScript(() =>
    document.querySelector('[data-testid="terminal-screen"]').contains(document.activeElement),
  );
  assert.ok(focused, 'opening the terminal puts the keyboard in it');
  const windowScroll = () => session.executeScript(() => document.scrollingElement.scrollTop);
  assert.equal(await windowScroll(), 0, 'focusing the terminal does not scroll the window (its title bar stays in view)');

  await type(session, `kubectl get pods${ENTER}`);
  const text = await waitForScreen(
    session,
    (t) => /NAME\s+READY\s+STATUS/.test(t) && new RegExp(`^${pod}\\s+\\d+/\\d+\\s+`, 'm').test(t),
    30_000,
    `kubectl lists the mission's pod ${pod} in the mission namespace`,
  );
  assert.doesNotMatch(text, /No resources found|error:|Unable to connect/, 'kubectl reached the embedded cluster');

  await type(session, `kubectl config view --minify -o jsonpath='{..namespace}'; echo${ENTER}`);
  await waitForScreen(session, (t) => new RegExp(`^${NAMESPACE}\\s*$`, 'm').test(t), 20_000, `the context's default namespace is ${NAMESPACE}`);

  // xterm.js sizes its rows and colours its background with <style> elements, which the CSP
  // refuses; the terminal mirrors them into an adopted stylesheet the CSP allows.
  const drawn = await session.executeScript(() => {
    const screen = document.querySelector('[data-testid="terminal-screen"]');
    const row = screen.querySelector('.xterm-rows > div');
    const viewport = screen.querySelector('.xterm-viewport');
    const sunken = getComputedStyle(document.documentElement).getPropertyValue('--surface-sunken').trim();
    const probe = document.createElement('div');
    probe.style.color = sunken;
    document.body.append(probe);
    const expected = getComputedStyle(probe).color;
    probe.remove();
    return {
      rowHeight: row ? row.getBoundingClientRect().height : 0,
      lineHeight: row ? getComputedStyle(row).lineHeight : '',
      background: viewport ? getComputedStyle(viewport).backgroundColor : '',
      expected,
      violations: window.__kqCspViolations ?? [],
    };
  });
  assert.ok(drawn.rowHeight > 10 && drawn.lineHeight.endsWith('px'), `rows get xterm.js's measured height: ${JSON.stringify(drawn)}`);
  assert.equal(drawn.background, drawn.expected, 'the terminal takes the theme’s background');
  const others = drawn.violations.filter((v) => !(v.directive.startsWith('style-src') && v.blocked === 'inline'));
  assert.deepEqual(others, [], 'nothing but xterm.js’s own inline <style> elements (mirrored) meets the CSP');

  // Esc at the prompt leaves the terminal: the keyboard is never trapped in it.
  await type(session, ESCAPE);
  const left = await session.executeScript(() => {
    const screen = document.querySelector('[data-testid="terminal-screen"]');
    return !screen.contains(document.activeElement) && document.activeElement.closest('[data-testid="terminal-panel"]') !== null;
  });
  assert.ok(left, 'Esc moves the focus from the shell to the terminal panel');

  // Ctrl+` brings the keyboard back to the shell from anywhere on the page.
  await session.executeScript(() => document.querySelector('[data-testid="back-to-missions"]').focus());
  await session.actions().keyDown(Key.CONTROL).sendKeys('`').keyUp(Key.CONTROL).perform();
  const back = await session.executeScript(() =>
    document.querySelector('[data-testid="terminal-screen"]').contains(document.activeElement),
  );
  assert.ok(back, 'Ctrl+` focuses the terminal again');

  // The terminal follows the theme chosen in Settings (data-theme on the page's root).
  const themed = await session.executeScript(async () => {
    const viewport = document.querySelector('[data-testid="terminal-screen"] .xterm-viewport');
    const before = getComputedStyle(viewport).backgroundColor;
    const root = document.documentElement;
    const chosen = root.dataset.theme;
    root.dataset.theme = getComputedStyle(root).colorScheme === 'dark' ? 'light' : 'dark';
    await new Promise((r) => setTimeout(r, 300));
    const after = getComputedStyle(viewport).backgroundColor;
    if (chosen === undefined) delete root.dataset.theme;
    else root.dataset.theme = chosen;
    return { before, after };
  });
  assert.notEqual(themed.after, themed.before, `switching the theme recolours the terminal: ${JSON.stringify(themed)}`);
  assert.equal(await windowScroll(), 0, 'typing in the terminal does not scroll the window');
  await screenshot(session, 'terminal-01-kubectl-get-pods');
});

test('without kubectl on the PATH, the terminal says so and how to install it', async () => {
  await app?.quit();
  const home = freshHome();
  home.env.PATH = pathWithoutKubectl();
  home.env.SHELL = '/bin/bash';
  app = await launch(home);
  const { session } = app;

  await startMissionAndOpenTerminal(session);
  const text = await waitForScreen(
    session,
    (t) => /kubectl is not installed/.test(t) && /kubequest:\S+[$#]/.test(t),
    20_000,
    'the terminal says kubectl is missing, then shows the prompt',
  );
  assert.match(text, /apt-get install kubectl/, 'it says how to install kubectl on this system');
  assert.match(text, new RegExp(`namespace ${NAMESPACE}`), 'and that KUBECONFIG is ready for the mission');
  await screenshot(session, 'terminal-02-no-kubectl');
});
