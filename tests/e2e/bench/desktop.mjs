// Desktop figures for `cargo xtask bench`: the real app window under Xvfb, driven through
// tauri-driver exactly like the desktop test tier. Prints one JSON figure per line on stdout
// (the format kq-bench uses) and progress on stderr.
//
//   desktop.cold_start_ms        launching the app until the mission map can be used
//   desktop.dom_update_p50_ms    a change written to the cluster until the page shows it
//   desktop.dom_update_p99_ms
//   desktop.idle_rss_mb          app + web view processes + embedded cluster, idle on the map (Pss)
//   desktop.binary_mb            the app binary (KQ_APP_BINARY)
//   desktop.deb_mb               the .deb package (KQ_DEB, full runs only)
//
// `--quick` (the desktop test tier) runs each measurement once or a few times; targets are then
// not judged.

import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { By, freshHome, openSession, startDriver, until } from '../desktop/harness.mjs';

const quick = process.argv.includes('--quick');
const log = (msg) => process.stderr.write(`desktop-bench: ${msg}\n`);

const figure = (name, value, unit, target, op, detail) => {
  const pass =
    quick || target == null ? null : op === '<=' ? value <= target : value >= target;
  const round = Math.round(value * 1000) / 1000;
  console.log(
    JSON.stringify({ figure: name, value: round, unit, target, target_op: target == null ? null : op, pass, detail }),
  );
};

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  if (v.length === 0) return 0;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const percentile = (xs, p) => {
  const v = [...xs].sort((a, b) => a - b);
  if (v.length === 0) return 0;
  return v[Math.min(v.length, Math.max(1, Math.ceil((p / 100) * v.length))) - 1];
};

const MAP = By.css('[data-testid="mission-card"]');

/// Opens the app in a fresh home and waits for a usable mission map; returns the timing.
const coldStart = async () => {
  const home = freshHome();
  const driver = await startDriver(home);
  const t0 = performance.now();
  const app = await openSession(driver);
  await app.session.wait(until.elementLocated(MAP), 30_000);
  const card = await app.session.findElement(MAP);
  await app.session.wait(until.elementIsVisible(card), 30_000);
  const ms = performance.now() - t0;
  return { app, ms, home };
};

/// Proportional set size: each shared page is split between the processes that map it, so the
/// sum over the app's processes is what they cost together (plain RSS would count WebKit's
/// shared libraries once per process).
const pssKb = (pid) => {
  try {
    const line = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Pss:'));
    return line ? Number.parseInt(line.replace(/\D+/g, ''), 10) : 0;
  } catch {
    return 0;
  }
};

/// The app process and every process below it (the WebKit web and network processes).
const appTreeRss = (binary) => {
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const parent = new Map();
  let root = null;
  const real = path.resolve(binary);
  for (const pid of procs) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      parent.set(pid, ppid);
      if (root === null && readlinkSync(`/proc/${pid}/exe`) === real) root = pid;
    } catch {
      // The process ended while we looked.
    }
  }
  if (root === null) throw new Error(`no running process of ${real}`);
  const tree = [root];
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (tree.includes(ppid) && !tree.includes(pid)) {
        tree.push(pid);
        grew = true;
      }
    }
  }
  const names = tree.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '?';
    }
  });
  const each = tree.map(pssKb);
  return {
    kb: each.reduce((sum, kb) => sum + kb, 0),
    names: names.map((n, i) => `${n} ${(each[i] / 1024).toFixed(0)} MB`),
  };
};

/// Server, token and CA of the embedded cluster, from the kubeconfig the app wrote.
const embeddedCluster = (home) => {
  const file = path.join(home.env.XDG_DATA_HOME, 'dev.kubequest.desktop', 'kubeconfig');
  const text = readFileSync(file, 'utf8');
  const pick = (key) => {
    const m = text.match(new RegExp(`${key}:\\s*"?([^"\\n]+)"?`));
    if (!m) throw new Error(`${file} has no ${key}`);
    return m[1].trim();
  };
  return {
    server: new URL(pick('server')),
    token: pick('token'),
    ca: Buffer.from(pick('certificate-authority-data'), 'base64'),
  };
};

/// One authenticated request to the embedded cluster; resolves with the parsed JSON body.
const call = (cluster, method, apiPath, body) =>
  new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = https.request(
      {
        host: cluster.server.hostname,
        port: cluster.server.port,
        path: apiPath,
        method,
        ca: cluster.ca,
        headers: {
          authorization: `Bearer ${cluster.token}`,
          accept: 'application/json',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode >= 300) {
            reject(new Error(`${method} ${apiPath}: ${res.statusCode} ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve(text ? JSON.parse(text) : null);
          } catch (e) {
            reject(new Error(`${method} ${apiPath}: ${e.message}`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });

/// Start the first mission, then time cluster writes until the events table shows them.
const domUpdates = async (app, home, rounds) => {
  const { session } = app;
  // The first mission is open on a fresh home: select its card, then start it.
  const id = 'crash-loop-backoff';
  await session.findElement(By.css(`[data-testid="mission-card"][data-mission-id="${id}"]`)).click();
  const start = By.css(`[data-testid="start-mission"][data-mission-id="${id}"]`);
  await session.wait(until.elementLocated(start), 30_000);
  await session.findElement(start).click();
  const table = By.css('[data-testid="events-table"]');
  await session.wait(until.elementLocated(table), 30_000);
  const ns = await session.executeScript(() => {
    const text = document.querySelector('[data-testid="kubectl-bridge"]')?.textContent ?? '';
    return text.match(/-n (kq-[a-z0-9-]+)/)?.[1] ?? null;
  });
  const namespace = ns ?? `kq-${id}`;
  const cluster = embeddedCluster(home);
  // The events table lists the mission pod's own events (matched by name and uid, as
  // `kubectl describe pod` does), so each benchmark event is about that pod.
  const pods = await call(cluster, 'GET', `/api/v1/namespaces/${namespace}/pods`);
  const pod = pods?.items?.[0]?.metadata;
  if (!pod) throw new Error(`the mission namespace ${namespace} has no pod to write events about`);
  const latencies = [];
  for (let i = 0; i < rounds; i++) {
    const marker = `kq-bench-${process.pid}-${i}`;
    await session.executeScript((m) => {
      window.__kqBench = new Promise((resolve) => {
        const seen = () =>
          document.querySelector('[data-testid="events-table"]')?.textContent?.includes(m);
        if (seen()) return resolve(Date.now());
        const mo = new MutationObserver(() => {
          if (seen()) {
            mo.disconnect();
            resolve(Date.now());
          }
        });
        mo.observe(document.body, { subtree: true, childList: true, characterData: true });
      });
    }, marker);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const t0 = Date.now();
    await call(cluster, 'POST', `/api/v1/namespaces/${namespace}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: marker },
      involvedObject: { kind: 'Pod', namespace, name: pod.name, uid: pod.uid, apiVersion: 'v1' },
      reason: 'Benchmark',
      message: marker,
      type: 'Normal',
      source: { component: 'kq-bench' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    const t1 = await session.executeAsyncScript((done) => {
      window.__kqBench.then(done);
    });
    latencies.push(t1 - t0);
  }
  return latencies;
};

const main = async () => {
  const binary = process.env.KQ_APP_BINARY;
  if (!binary) throw new Error('KQ_APP_BINARY is not set: run through cargo xtask');

  const starts = [];
  const reps = quick ? 1 : 5;
  let kept = null;
  for (let i = 0; i < reps; i++) {
    const run = await coldStart();
    starts.push(run.ms);
    log(`cold start ${i + 1}/${reps}: ${run.ms.toFixed(0)} ms`);
    if (i === reps - 1) kept = run;
    else await run.app.quit();
  }
  figure(
    'desktop.cold_start_ms',
    median(starts),
    'ms',
    1500,
    '<=',
    `median of ${reps} launches in fresh homes, from the WebDriver session request to a visible mission card (samples ${starts.map((s) => s.toFixed(0)).join(', ')} ms)`,
  );

  try {
    await new Promise((r) => setTimeout(r, quick ? 1000 : 5000));
    const rss = appTreeRss(binary);
    figure(
      'desktop.idle_rss_mb',
      rss.kb / 1024,
      'MB',
      250,
      '<=',
      `proportional set size (Pss) summed over ${rss.names.join(' + ')}, idle on the mission map for ${quick ? 1 : 5} s`,
    );

    const rounds = quick ? 5 : 60;
    const lat = await domUpdates(kept.app, kept.home, rounds);
    const slowest = [...lat].sort((a, b) => b - a).slice(0, 3).join(', ');
    const detail = `${rounds} Events POSTed to the embedded cluster, each awaited: API watch → engine session → IPC channel → the events table's DOM (wall-clock ms in both processes); slowest ${slowest} ms`;
    figure('desktop.dom_update_p50_ms', median(lat), 'ms', null, '<=', detail);
    figure('desktop.dom_update_p99_ms', percentile(lat, 99), 'ms', 50, '<=', detail);
  } finally {
    await kept.app.quit();
  }

  figure(
    'desktop.binary_mb',
    statSync(binary).size / 1e6,
    'MB',
    null,
    '<=',
    `${path.basename(binary)} (${quick ? 'debug build' : 'release build'})`,
  );
  const deb = process.env.KQ_DEB;
  if (deb) {
    figure('desktop.deb_mb', statSync(deb).size / 1e6, 'MB', 15, '<=', path.basename(deb));
  } else if (!quick) {
    throw new Error('KQ_DEB is not set: the full run measures the .deb that cargo xtask bundle builds');
  }
};

main().catch((err) => {
  process.stderr.write(`desktop-bench: ${err.stack ?? err}\n`);
  process.exit(1);
});
