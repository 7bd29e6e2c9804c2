// The mission map as a learner meets it: missions in curriculum order, open or locked with
// what unlocks them, the title bar, keyboard use, details, light and dark, reduced motion.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appInfo, cardTexts, loaded, missions, scenario, screenshot, sharedBrowser } from './harness.mjs';

const suite = sharedBrowser();

test('lists the missions by chapter, the first open and the rest locked with what unlocks them', async () => {
  // The map groups missions by chapter (Pods, Images, Scheduling, …) in chapter order, whatever
  // order the catalog sends them in.
  const shuffledIds = [missions[0], missions[2], missions[1]];
  const app = await suite.open(scenario({ list_missions: [{ ok: { missions: shuffledIds, problems: [] } }] }));
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    const cards = page.getByTestId('mission-card');
    assert.equal(await cards.count(), 3, 'one card per mission');
    assert.deepEqual(await page.getByTestId('chapter-title').allInnerTexts(), ['PODS', 'IMAGES', 'SCHEDULING']);
    assert.deepEqual(await page.getByTestId('chapter-progress').allInnerTexts(), ['0 of 1 solved', '0 of 1 solved', '0 of 1 solved']);
    const bar = page.getByTestId('chapter-progressbar').first();
    assert.deepEqual(
      await bar.evaluate((el) => [el.getAttribute('role'), el.getAttribute('aria-valuenow'), el.getAttribute('aria-valuemax'), el.getAttribute('aria-valuetext')]),
      ['progressbar', '0', '1', '0 of 1 solved'],
    );

    const texts = await cardTexts(page);
    const shown = [missions[0], missions[1], missions[2]];
    shown.forEach((m, i) => {
      assert.ok(texts[i].includes(m.title), `card ${i + 1} should show "${m.title}", got "${texts[i]}"`);
      assert.ok(texts[i].includes(String(m.order).padStart(2, '0')), `card ${i + 1} shows its order number`);
    });

    assert.deepEqual(
      await cards.evaluateAll((els) => els.map((e) => e.dataset.state)),
      ['open', 'locked', 'locked'],
    );
    assert.match(texts[0], /Open/);
    assert.match(texts[0], /Beginner/);
    assert.doesNotMatch(texts[0], /Running/, 'the stuck stage is not named before the mission is played');
    assert.doesNotMatch(texts[0], /Solve/);

    assert.match(texts[2], /Locked/);
    assert.doesNotMatch(texts[2], /Scheduling/, 'nor on a locked card');
    assert.match(texts[2], /Intermediate/);
    assert.match(texts[2], /Solve “The image that never arrives” first/);
    assert.doesNotMatch(texts[1], /Image pull/);
    assert.match(texts[1], /Solve “The pod that keeps falling over” first/);

    assert.equal(await page.getByTestId('mission-summary').innerText(), '3 missions · 1 open · 2 locked');
    assert.equal(await page.getByTestId('app-version').innerText(), 'v0.1.0');
    assert.equal(await page.getByTestId('cluster-status').innerText(), 'Cluster: not started');
    assert.equal(await page.title(), 'KubeQuest');
    await page.waitForFunction(() => document.querySelector('[role="status"]')?.textContent?.includes('3 missions'));

    await screenshot(page, '01-mission-map-light');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('Tab reaches Settings, then the first open mission, and Enter opens its details; arrows move between missions', async () => {
  const app = await suite.open();
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    assert.equal(await page.getByTestId('details-empty').isVisible(), true, 'before choosing, the panel says how to');

    // The title bar's Settings button comes first, then the map's header (Classroom), then the map.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'open-settings');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'open-classroom');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({
      testid: document.activeElement?.getAttribute('data-testid'),
      id: document.activeElement?.getAttribute('data-mission-id'),
      ring: getComputedStyle(document.activeElement).outlineStyle,
    }));
    assert.deepEqual(
      { testid: focused.testid, id: focused.id },
      { testid: 'mission-card', id: 'crash-loop-backoff' },
      'after the title bar, Tab lands on the first open mission',
    );
    assert.notEqual(focused.ring, 'none', 'the focused card shows a focus ring');

    await page.keyboard.press('Enter');
    const details = page.getByTestId('mission-details');
    await details.getByTestId('details-title').waitFor();
    assert.equal(await details.getByTestId('details-title').innerText(), 'The pod that keeps falling over');
    // Where the pod gets stuck is for the learner to find: not named before the mission is played.
    assert.equal(await details.getByTestId('details-stage').count(), 0, 'no stage before the mission is played');
    assert.equal(await details.getByTestId('stage-path').count(), 0, 'no marked pipeline before the mission is played');
    assert.equal(await page.getByTestId('mission-stage').count(), 0, 'no card names a stage before it is played');
    assert.match(await details.getByTestId('details-state').innerText(), /Open\. A starting mission/);
    assert.match(await details.getByTestId('details-requires').innerText(), /Nothing/);
    assert.match(await details.innerText(), /Beginner/);
    assert.equal(
      await page.getByTestId('mission-card').first().getAttribute('aria-current'),
      'true',
      'the chosen card is marked current for assistive technology',
    );
    await page.waitForFunction(() =>
      document.querySelector('[role="status"]')?.textContent?.includes('The pod that keeps falling over'),
    );
    await screenshot(page, '02-mission-details-keyboard');

    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-mission-id')), 'image-pull-backoff');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="details-title"]')?.textContent === 'The image that never arrives',
    );
    assert.match(
      await details.getByTestId('details-state').innerText(),
      /Locked\. Solve “The pod that keeps falling over” first/,
    );
    assert.match(await details.getByTestId('details-requires').innerText(), /The pod that keeps falling over.*not solved yet/s);
    assert.equal(await details.getByTestId('details-stage').count(), 0, 'a locked mission names no stage either');

    await page.keyboard.press('End');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-mission-id')),
      'pending-insufficient-cpu',
    );
    await page.keyboard.press('Home');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-mission-id')), 'crash-loop-backoff');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('clicking a locked mission explains what unlocks it', async () => {
  const app = await suite.open();
  const { page } = app;
  try {
    await page.getByTestId('mission-card').nth(2).click();
    const state = page.getByTestId('details-state');
    await state.waitFor();
    assert.match(await state.innerText(), /Locked\. Solve “The image that never arrives” first/);
    assert.equal(await page.getByTestId('details-stage').count(), 0, 'nothing gives the cause away');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the cluster pill names a ready context and explains an unavailable cluster in words', async () => {
  const ready = await suite.open(scenario({
      app_info: [
        {
          ok: appInfo({ state: 'ready', context: 'kind-kubequest', kubeconfig: '/tmp/kc', server: 'https://127.0.0.1:6443' }),
        },
      ],
    }),
  );
  try {
    const pill = ready.page.getByTestId('cluster-status');
    await pill.waitFor();
    assert.equal(await pill.innerText(), 'Cluster: kind-kubequest');
    assert.match(await pill.getAttribute('title'), /https:\/\/127\.0\.0\.1:6443/, 'the tooltip names the server');
    await ready.assertClean();
  } finally {
    await ready.close();
  }

  const down = await suite.open(scenario({ app_info: [{ ok: appInfo({ state: 'unavailable', message: 'context kind-dev not found in kubeconfig' }) }] }),
  );
  try {
    const pill = down.page.getByTestId('cluster-status');
    await pill.waitFor();
    assert.equal(await pill.innerText(), 'Cluster unavailable: context kind-dev not found in kubeconfig');
    assert.equal(await pill.getAttribute('data-tone'), 'problem');
    await screenshot(down.page, '03-cluster-unavailable');
    await down.assertClean();
  } finally {
    await down.close();
  }
});

test('dark colour scheme renders with dark surfaces and readable text', async () => {
  const app = await suite.open(scenario(), { media: { colorScheme: 'dark' } });
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    await page.getByTestId('mission-card').first().click();
    await page.getByTestId('details-title').waitFor();
    const colours = await page.evaluate(() => {
      const lum = (css) => {
        const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      };
      const card = document.querySelector('[data-testid="mission-card"]');
      return {
        body: lum(getComputedStyle(document.body).backgroundColor),
        card: lum(getComputedStyle(card).backgroundColor),
        text: lum(getComputedStyle(card.querySelector('[data-testid="mission-title"]')).color),
      };
    });
    assert.ok(colours.body < 0.15, `the page background is dark (luminance ${colours.body})`);
    assert.ok(colours.card < 0.2, `cards are dark (luminance ${colours.card})`);
    assert.ok(colours.text > 0.75, `titles are light on dark (luminance ${colours.text})`);
    await screenshot(page, '04-mission-map-dark');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('with reduced motion the map appears at once and still works', async () => {
  const app = await suite.open(scenario(), { media: { reducedMotion: 'reduce' } });
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    const motion = await page.evaluate(() => {
      const stop = document.querySelector('[data-testid="mission-list"] li');
      const style = getComputedStyle(stop);
      return { duration: style.animationDuration, delay: style.animationDelay };
    });
    assert.deepEqual(motion, { duration: '0.001s', delay: '0s' }, 'entrance animations are cut to nothing');
    // Settings, Classroom, then the first mission.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByTestId('details-title').waitFor();
    assert.equal(await page.getByTestId('details-title').innerText(), missions[0].title);
    await screenshot(page, '05-reduced-motion');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('fonts are the bundled files, loaded from the app itself under the CSP', async () => {
  const app = await suite.open();
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    const fonts = await page.evaluate(async () => {
      await document.fonts.ready;
      await document.fonts.load('16px "Inter Variable"');
      await document.fonts.load('16px "JetBrains Mono Variable"');
      return [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family);
    });
    assert.ok(fonts.includes('Inter Variable'), `Inter is loaded, got ${fonts.join(', ')}`);
    assert.ok(fonts.includes('JetBrains Mono Variable'), `JetBrains Mono is loaded, got ${fonts.join(', ')}`);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('once a mission has been played, its card and details name the stage where the pod got stuck', async () => {
  const started = loaded({
    version: 1,
    learner: null,
    missions: {
      'crash-loop-backoff': { status: 'in-progress', attempts: 1, hintsUsed: 0, startedAt: '2026-01-01T00:00:00Z', solvedAt: null, timeToFixSeconds: null },
    },
  });
  const app = await suite.open(scenario({ get_progress: [{ ok: started }] }));
  const { page } = app;
  try {
    const card = page.locator('[data-testid="mission-card"][data-mission-id="crash-loop-backoff"]');
    await card.getByTestId('mission-stage').waitFor();
    assert.match(await card.getByTestId('mission-stage').innerText(), /Running/);
    assert.equal(
      await page.locator('[data-testid="mission-card"][data-mission-id="image-pull-backoff"]').getByTestId('mission-stage').count(),
      0,
      'a mission not played yet still names no stage',
    );
    await card.click();
    const details = page.getByTestId('mission-details');
    await details.getByTestId('details-stage').waitFor();
    assert.equal(await details.getByTestId('details-stage').innerText(), 'Running');
    assert.equal(
      await page.locator('[data-stage="run"]').getAttribute('data-mark'),
      'stuck',
      'the pipeline marks the stage where the pod got stuck',
    );
    await app.assertClean();
  } finally {
    await app.close();
  }
});
