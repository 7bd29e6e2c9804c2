// Runs the built KubeQuest UI (ui/dist) in headless Chromium with the Tauri IPC mocked.
//
// A tiny static server sends the same Content-Security-Policy as the desktop window, so an
// inline script or style that Tauri would block is blocked here too. Every page records
// console errors, uncaught exceptions, CSP violations and requests that leave the server;
// `assertClean` fails the test on any of them.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
const dist = path.join(repoRoot, 'ui/dist');
const shots = path.join(repoRoot, 'target/e2e/browser');

/** The desktop window's policy (src-tauri/tauri.conf.json), byte for byte in meaning. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  'connect-src ipc: http://ipc.localhost',
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.json': 'application/json',
};

/** Serves ui/dist on 127.0.0.1 with an ephemeral port. */
export async function startServer() {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(
      `ui/dist/index.html is missing: build the UI first with \`npm run build\` in ${path.join(repoRoot, 'ui')}`,
    );
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rel = decodeURIComponent(url.pathname) === '/' ? 'index.html' : decodeURIComponent(url.pathname).slice(1);
    const file = path.resolve(dist, rel);
    const inside = file === dist || file.startsWith(dist + path.sep);
    if (!inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain', 'content-security-policy': CSP });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
      'cache-control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Debian's Chromium, headless, with a throwaway profile (plain launch makes a temp one). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// ---- fixtures -----------------------------------------------------------------------------

export const missions = [
  {
    id: 'crash-loop-backoff',
    title: 'The pod that keeps falling over',
    order: 1,
    stage: 'run',
    difficulty: 'beginner',
    chapter: 'pods',
    requires: [],
    chapterRequires: [],
  },
  {
    id: 'image-pull-backoff',
    title: 'The image that never arrives',
    order: 2,
    stage: 'pull',
    difficulty: 'beginner',
    chapter: 'images',
    requires: ['crash-loop-backoff'],
    chapterRequires: ['crash-loop-backoff'],
  },
  {
    id: 'pending-insufficient-cpu',
    title: 'The pod with nowhere to go',
    order: 3,
    stage: 'schedule',
    difficulty: 'intermediate',
    chapter: 'scheduling',
    requires: ['image-pull-backoff'],
    chapterRequires: ['image-pull-backoff'],
  },
];

export const appInfo = (cluster = { state: 'notStarted' }) => ({
  version: '0.1.0',
  lessonDirs: ['/usr/share/kubequest/lessons'],
  cluster,
});

/** What `get_progress` answers: the progress, and what loading it recovered from (if anything). */
export const loaded = (progress = { version: 1, learner: null, missions: {} }, recovery = null) => ({ progress, recovery });

/**
 * What each command answers, call after call (the last answer repeats):
 * `{ ok: value }`, `{ err: rejection }`, `{ pending: true }` (never answers), with an optional
 * `delayMs`.
 */
export const scenario = (over = {}) => ({
  app_info: [{ ok: appInfo() }],
  list_missions: [{ ok: { missions, problems: [] } }],
  get_progress: [{ ok: loaded() }],
  get_settings: [{ ok: { context: null, allowedRemoteContexts: [], speed: 1, theme: 'system', teacherPreview: false } }],
  stop_mission: [{ ok: null }],
  ...over,
});

// Runs in the page before any of its scripts: the part of Tauri's IPC that @tauri-apps/api's
// `invoke` and `Channel` touch (window.__TAURI_INTERNALS__), plus the CSP violation recorder.
// Like the desktop window (tauri.conf.json `freezePrototype`), Object.prototype is frozen.
// A channel passed as an argument (start_mission's `onUpdate`) is remembered, and
// `window.__KQ_PUSH__(message)` delivers a message on the latest one, in order, as Tauri does;
// a session update (an object with a `kind`) goes as a batch of one, as the app sends them.
function installMocks(answers) {
  const channel = { id: null, next: 0 };
  window.__KQ_PUSH__ = (message) => {
    if (channel.id === null) throw new Error('no channel has been passed to a command yet');
    const batch = message !== null && typeof message === 'object' && !Array.isArray(message) && 'kind' in message;
    window.__TAURI_INTERNALS__.runCallback(channel.id, { index: channel.next++, message: batch ? [message] : message });
  };
  const calls = [];
  const counters = {};
  const callbacks = new Map();
  let nextCallback = 1;
  window.__KQ_CALLS__ = calls;
  window.__KQ_CSP__ = [];
  document.addEventListener(
    'securitypolicyviolation',
    (e) => window.__KQ_CSP__.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} ${e.sample || ''}`),
    true,
  );
  window.__TAURI_INTERNALS__ = {
    invoke(cmd, args, options) {
      const plain = {};
      for (const [key, value] of Object.entries(args ?? {})) {
        const json = typeof value?.toJSON === 'function' ? value.toJSON() : null;
        if (typeof json === 'string' && json.startsWith('__CHANNEL__:')) {
          if (value.id !== channel.id) Object.assign(channel, { id: value.id, next: 0 });
          plain[key] = json;
        } else {
          plain[key] = value;
        }
      }
      calls.push({ cmd, args: plain, options: options ?? null });
      const list = answers[cmd];
      if (!list) return Promise.reject(`command ${cmd} not found`);
      counters[cmd] = (counters[cmd] ?? -1) + 1;
      const step = list[Math.min(counters[cmd], list.length - 1)];
      if (step.pending) return new Promise(() => {});
      return new Promise((resolve, reject) => {
        setTimeout(() => ('err' in step ? reject(structuredClone(step.err)) : resolve(structuredClone(step.ok))), step.delayMs ?? 0);
      });
    },
    transformCallback(callback, once = false) {
      const id = nextCallback++;
      callbacks.set(id, (data) => {
        if (once) callbacks.delete(id);
        return callback?.(data);
      });
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    runCallback(id, data) {
      callbacks.get(id)?.(data);
    },
    callbacks,
    convertFileSrc: (filePath, protocol = 'asset') => `http://${protocol}.localhost/${encodeURIComponent(filePath)}`,
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
  };
  Object.freeze(Object.prototype);
}

/**
 * Opens the app in a fresh context. `media` goes to `page.emulateMedia` before load;
 * `beforeLoad(page)` runs before navigation (to install a fake clock, say).
 */
export async function openApp(browser, server, answers = scenario(), { media, beforeLoad } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const trouble = { console: [], errors: [], offsite: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') trouble.console.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => trouble.errors.push(err.message));
  page.on('request', (req) => {
    if (!req.url().startsWith(server.origin)) trouble.offsite.push(req.url());
  });
  await page.addInitScript(installMocks, answers);
  if (media) await page.emulateMedia(media);
  if (beforeLoad) await beforeLoad(page);
  await page.goto(server.url);
  return {
    page,
    context,
    calls: (cmd) => page.evaluate((c) => window.__KQ_CALLS__.filter((x) => x.cmd === c).length, cmd),
    /** The arguments of every call of `cmd`, in order (channels as `__CHANNEL__:id`). */
    argsOf: (cmd) => page.evaluate((c) => window.__KQ_CALLS__.filter((x) => x.cmd === c).map((x) => x.args), cmd),
    /** Sends SessionUpdates on the mission's channel, in order. */
    push: (...messages) => page.evaluate((list) => list.forEach((m) => window.__KQ_PUSH__(m)), messages),
    /** Fails on console errors or warnings, page errors, CSP violations or off-server requests. */
    async assertClean() {
      const csp = await page.evaluate(() => window.__KQ_CSP__);
      assert.deepEqual(csp, [], 'no Content-Security-Policy violations');
      assert.deepEqual(trouble.errors, [], 'no uncaught errors in the page');
      assert.deepEqual(trouble.console, [], 'no console errors or warnings');
      assert.deepEqual(trouble.offsite, [], 'every request stays on the app’s own origin');
    },
    close: () => context.close(),
  };
}

/** Saves a screenshot under target/e2e/browser/ and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false, animations: 'disabled' });
  return file;
}

/** The visible text of every mission card, in page order. */
export const cardTexts = (page) => page.getByTestId('mission-card').allInnerTexts();

/// One server and one browser for a whole test file: started before its first test, closed
/// after its last. `open(...)` is `openApp` on them.
export const sharedBrowser = () => {
  const suite = {
    browser: null,
    server: null,
    open: (...rest) => openApp(suite.browser, suite.server, ...rest),
  };
  before(async () => {
    suite.server = await startServer();
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.close();
  });
  return suite;
};
