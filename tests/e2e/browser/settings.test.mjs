// The settings screen with the IPC mocked: the cluster picker with local/remote badges and the
// explicit confirmation a remote context needs, simulation speed, the theme applied at once,
// and progress export/import with their result messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loaded, scenario, screenshot, sharedBrowser } from './harness.mjs';

const suite = sharedBrowser();

const contexts = [
  { name: 'kind-dev', cluster: 'kind-dev', user: 'kind-dev', namespace: null, server: 'https://127.0.0.1:40123', current: true, locality: { kind: 'local', why: 'Its server is on this machine (127.0.0.1).' } },
  { name: 'classroom', cluster: 'classroom', user: 'student', namespace: null, server: 'https://k8s.school.example:6443', current: false, locality: { kind: 'remote' } },
];
const base = { context: null, allowedRemoteContexts: [], speed: 1, theme: 'system' };

/** save_settings answers with what it was given, as the Rust side stores it. */
const imported = {
  version: 1,
  learner: null,
  missions: { 'crash-loop-backoff': { status: 'solved', attempts: 1, hintsUsed: 0, startedAt: null, solvedAt: null, timeToFixSeconds: 90 } },
};
/** A learner who gave their name (exports need one). */
const ada = { id: '3f2c9a4e-8f0b-4d5e-9a51-2c7f1d0e6b11', name: 'Ada' };
const named = { version: 1, learner: ada, missions: {} };
const answers = (over = {}) =>
  scenario({
    list_contexts: [{ ok: contexts }],
    save_settings: [{ ok: base }],
    export_progress: [{ ok: '/home/learner/kubequest-progress.json' }, { ok: null }],
    import_progress: [{ ok: null }, { ok: imported }],
    // Read at start, then again on the way back to the map (after the import).
    get_progress: [{ ok: loaded(named) }, { ok: loaded(imported) }],
    ...over,
  });

async function openSettings(app) {
  await app.page.getByTestId('mission-list').waitFor();
  await app.page.getByTestId('open-settings').click();
  await app.page.getByTestId('settings-screen').waitFor();
  await app.page.getByTestId('context-option-classroom').waitFor();
}

test('a remote context needs a confirmation that names it and its server; cancelling changes nothing', async () => {
  const app = await suite.open(
    answers({
      allow_remote_context: [{ ok: { ...base, allowedRemoteContexts: ['classroom'] } }],
      save_settings: [{ ok: { ...base, context: 'classroom', allowedRemoteContexts: ['classroom'] } }],
    }),
  );
  const { page } = app;
  try {
    await openSettings(app);
    assert.equal(await page.getByTestId('context-option-embedded').isChecked(), true, 'the embedded cluster is the default');
    const badges = await page.getByTestId('context-badge').allInnerTexts();
    assert.deepEqual(badges.map((b) => b.trim()), ['Built in', 'Local', 'Remote']);
    assert.equal(await page.getByTestId('context-option-classroom').getAttribute('data-locality'), 'remote');

    await page.getByTestId('context-option-classroom').click();
    const dialog = page.getByTestId('confirm-dialog');
    await page.waitForFunction(() => document.querySelector('[data-testid="confirm-dialog"]')?.open === true);
    assert.equal(await page.getByTestId('confirm-context').innerText(), 'classroom');
    assert.equal(await page.getByTestId('confirm-server').innerText(), 'https://k8s.school.example:6443');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'confirm-cancel', 'focus starts on Cancel');
    await screenshot(page, '40-settings-remote-confirm');

    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('[data-testid="confirm-dialog"]')?.open === false);
    assert.equal(await page.getByTestId('context-option-classroom').isChecked(), false, 'not chosen without a yes');
    assert.equal(await page.getByTestId('context-option-embedded').isChecked(), true);
    assert.equal(await app.calls('save_settings'), 0);
    assert.equal(await app.calls('allow_remote_context'), 0, 'no consent is recorded without a yes');

    await page.getByTestId('context-option-classroom').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="confirm-dialog"]')?.open === true);
    await page.getByTestId('confirm-accept').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="settings-saved"]')?.dataset.state === 'saved');
    assert.deepEqual(
      await app.argsOf('allow_remote_context'),
      [{ context: 'classroom' }],
      'the yes is recorded by the Rust side, for this one context',
    );
    assert.deepEqual(
      await app.argsOf('save_settings'),
      [{ settings: { ...base, context: 'classroom', allowedRemoteContexts: ['classroom'] } }],
      'the context is chosen after the Rust side recorded the consent, with the list as Rust answered it',
    );
    assert.equal(await page.getByTestId('context-option-classroom').isChecked(), true);
    assert.equal(await dialog.getAttribute('data-open'), 'false');

    // A local context needs no confirmation.
    await page.getByTestId('context-option-kind-dev').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="confirm-dialog"][open]').length === 0);
    assert.equal((await app.argsOf('save_settings')).at(-1).settings.context, 'kind-dev');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('consent the Rust side does not record is not assumed: the context stays unchosen and the reason is shown', async () => {
  const refused = { kind: 'cluster', message: 'The kubeconfig has no context named `classroom`.' };
  const app = await suite.open(answers({ allow_remote_context: [{ err: refused }] }));
  const { page } = app;
  try {
    await openSettings(app);
    await page.getByTestId('context-option-classroom').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="confirm-dialog"]')?.open === true);
    await page.getByTestId('confirm-accept').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="settings-saved"]')?.dataset.state === 'failed');
    assert.match(await page.getByTestId('settings-error').innerText(), /no context named `classroom`/);
    assert.equal(await app.calls('save_settings'), 0, 'the remote context is not chosen when its consent was not recorded');
    assert.equal(await page.getByTestId('context-option-classroom').isChecked(), false);
    assert.equal(await page.getByTestId('context-option-embedded').isChecked(), true);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('the theme applies at once and is saved; speed is saved; export and import report their results', async () => {
  const app = await suite.open(answers({ save_settings: [{ ok: { ...base, theme: 'dark' } }, { ok: { ...base, theme: 'dark', speed: 5 } }] }),
  );
  const { page } = app;
  try {
    await openSettings(app);
    await page.getByTestId('theme-dark').check();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    assert.equal(bg, 'rgb(13, 16, 21)', 'dark surfaces at once, whatever the system says');
    await page.waitForFunction(() => document.querySelector('[data-testid="settings-saved"]')?.dataset.state === 'saved');
    assert.equal((await app.argsOf('save_settings')).at(-1).settings.theme, 'dark');
    await screenshot(page, '41-settings-dark');

    await page.getByTestId('speed-5').check();
    await page.waitForFunction(() => document.querySelector('[data-testid="settings-saved"]')?.dataset.state === 'saved');
    assert.equal((await app.argsOf('save_settings')).at(-1).settings.speed, 5);

    await page.getByTestId('export-progress').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="progress-message"]')?.textContent?.includes('saved to'));
    assert.match(await page.getByTestId('progress-message').innerText(), /Progress saved to \/home\/learner\/kubequest-progress\.json/);
    await page.getByTestId('export-progress').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="progress-message"]')?.textContent?.includes('Export cancelled'));

    await page.getByTestId('import-progress').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="progress-message"]')?.textContent?.includes('Import cancelled'));
    await page.getByTestId('import-progress').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="progress-message"]')?.textContent?.includes('Progress imported'));
    assert.equal(await page.getByTestId('progress-message').getAttribute('data-tone'), 'ok');

    await page.getByTestId('settings-back').click();
    await page.getByTestId('mission-list').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="mission-card"]')?.dataset.state === 'solved');
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('a saved theme is applied on start; a failed save is said and undone', async () => {
  const app = await suite.open(answers({
      get_settings: [{ ok: { ...base, theme: 'dark' } }],
      save_settings: [{ err: { kind: 'internal', message: 'settings.json could not be written: read-only file system' } }],
    }),
  );
  const { page } = app;
  try {
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await openSettings(app);
    await page.getByTestId('theme-light').click();
    await page.getByTestId('settings-error').waitFor();
    assert.match(await page.getByTestId('settings-error').innerText(), /read-only file system/);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the theme goes back to the saved one');
    assert.equal(await page.getByTestId('theme-dark').isChecked(), true);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('an unreadable kubeconfig is explained and the embedded cluster still works', async () => {
  const app = await suite.open(answers({ list_contexts: [{ err: { kind: 'cluster', message: '/home/learner/.kube/config: invalid YAML at line 4' } }] }));
  const { page } = app;
  try {
    await page.getByTestId('mission-list').waitFor();
    await page.getByTestId('open-settings').click();
    await page.getByTestId('contexts-error').waitFor();
    assert.match(await page.getByTestId('contexts-error').innerText(), /invalid YAML at line 4.*embedded cluster still works/s);
    assert.equal(await page.getByTestId('context-option-embedded').isChecked(), true);
    await app.assertClean();
  } finally {
    await app.close();
  }
});

test('an export without a name asks for it first, saves it with the progress, then exports', async () => {
  const app = await suite.open(
    answers({
      get_progress: [{ ok: loaded() }],
      set_learner_name: [{ err: { kind: 'progress', message: 'The learner name contains a line break' } }, { ok: named }],
    }),
  );
  const { page } = app;
  try {
    // First run: the map offers the question, and skipping it blocks nothing.
    await page.getByTestId('learner-prompt').waitFor();
    await page.getByTestId('learner-prompt-skip').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="learner-prompt"]'));

    await openSettings(app);
    await page.getByTestId('export-progress').click();
    await page.getByTestId('learner-needed').waitFor();
    assert.equal(await app.calls('export_progress'), 0, 'no export leaves without a name');
    assert.equal(
      await page.evaluate(() => document.activeElement?.dataset.testid),
      'learner-name',
      'the keyboard lands on the name field',
    );
    // Rust refuses this one: the reason is shown and nothing is exported.
    await page.keyboard.type('Ada');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="learner-message"]')?.dataset.tone === 'problem');
    assert.match(await page.getByTestId('learner-message').innerText(), /not saved: The learner name contains a line break/);
    assert.equal(await app.calls('export_progress'), 0);
    // Then it is accepted, and the waiting export goes on by itself.
    await page.getByTestId('learner-save').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="progress-message"]')?.textContent?.includes('saved to'));
    assert.deepEqual((await app.argsOf('set_learner_name')).at(-1), { name: 'Ada' });
    assert.equal(await app.calls('export_progress'), 1, 'the export runs once the name is saved');
    assert.equal(await page.getByTestId('learner-name').inputValue(), 'Ada', 'the saved name stays editable here');
    await screenshot(page, '42-settings-learner-name');
    await app.assertClean();
  } finally {
    await app.close();
  }
});
