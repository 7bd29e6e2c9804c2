// The real KubeQuest window opens on the curriculum read from lessons/: the title bar names the
// app and shows the embedded cluster it started, the mission map lists the bundled missions in
// curriculum order, choosing an open mission shows its details, and real kubectl reaches the
// app's embedded cluster through the kubeconfig the app wrote.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { By, launch, screenshot, until } from './harness.mjs';

/// The map's chapters, in the order it shows them.
const CHAPTERS = ['pods', 'images', 'scheduling', 'config', 'probes', 'workloads', 'networking', 'security', 'storage'];

/// Titles, chapters and order straight from the lesson files, so the test follows the
/// curriculum: the map shows chapter after chapter, each in `order`.
const lessonTitles = () => {
  const root = process.env.KUBEQUEST_LESSONS;
  assert.ok(root, 'KUBEQUEST_LESSONS must point at the lessons folder');
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readFileSync(path.join(root, d.name, 'mission.md'), 'utf8'))
    .map((text) => ({
      title: /^title:\s*(.+)$/m.exec(text)[1].trim(),
      order: Number(/^order:\s*(\d+)$/m.exec(text)[1]),
      chapter: CHAPTERS.indexOf(/^chapter:\s*(\S+)/m.exec(text)?.[1] ?? 'pods'),
    }))
    .sort((a, b) => a.chapter - b.chapter || a.order - b.order)
    .map((m) => m.title);
};

let app;

before(async () => {
  app = await launch();
});

after(async () => {
  await app?.quit();
});

test('the window opens on the mission map with the bundled curriculum in chapter order', async () => {
  const { session } = app;
  assert.equal(await session.getTitle(), 'KubeQuest', 'the window is titled KubeQuest');
  const list = await session.wait(
    until.elementLocated(By.css('[data-testid="mission-list"]')),
    20_000,
    'the mission map never appeared',
  );
  const expected = lessonTitles();
  // Cards fade in; WebDriver reports only visible text, so wait until every card reads.
  let cards = [];
  let texts = [];
  await session.wait(
    async () => {
      cards = await list.findElements(By.css('[data-testid="mission-card"]'));
      texts = await Promise.all(cards.map((c) => c.getText()));
      return cards.length === expected.length && texts.every((t) => t.trim() !== '');
    },
    10_000,
  ).catch(() => {});
  assert.equal(cards.length, expected.length, `one card per lesson folder, got: ${texts.join(' | ')}`);
  expected.forEach((title, i) => {
    assert.ok(texts[i].includes(title), `card ${i + 1} should be "${title}", got "${texts[i]}"`);
  });
  const version = await session.findElement(By.css('[data-testid="app-version"]')).getText();
  assert.match(version, /0\.\d+\.\d+/, 'the title bar shows the app version');
  await screenshot(session, '01-mission-map');
});

test('choosing the first mission shows its details', async () => {
  const { session } = app;
  const first = await session.findElement(By.css('[data-testid="mission-card"]'));
  await first.click();
  const title = lessonTitles()[0];
  const details = await session.wait(
    until.elementLocated(By.css('[data-testid="details-title"]')),
    10_000,
    'choosing a mission should open its details panel',
  );
  await session.wait(until.elementTextContains(details, title), 10_000);
  await screenshot(session, '02-mission-details');
});

test('the app runs the embedded cluster and real kubectl reaches it', async () => {
  const { session, home } = app;
  const pill = await session.findElement(By.css('[data-testid="cluster-status"]'));
  await session.wait(until.elementTextContains(pill, 'kubequest'), 10_000, 'the title bar names the kubequest context');
  const kubeconfig = path.join(home.env.XDG_DATA_HOME, 'dev.kubequest.desktop', 'kubeconfig');
  const mode = statSync(kubeconfig).mode & 0o777;
  assert.equal(mode, 0o600, `the kubeconfig holds a token and must be private, got ${mode.toString(8)}`);
  const out = execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nodes'], {
    env: { ...process.env, HOME: home.home },
    encoding: 'utf8',
  });
  assert.match(out, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/m, `kubectl prints the node table:\n${out}`);
  assert.match(out, /^node-1\s+Ready\s/m, `the embedded node is Ready:\n${out}`);
});
