// Drives the real KubeQuest window: tauri-driver in front of WebKitWebDriver, the app binary
// built by `cargo xtask test`, under the Xvfb display and D-Bus session the test command sets up.
// Every run gets fresh data and config folders so progress from one run never leaks into another.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';

export { By, until };

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the desktop tests through \`cargo xtask test desktop\``);
  }
  return value;
};

export const artifacts = () => {
  const dir = required('KQ_ARTIFACTS');
  mkdirSync(dir, { recursive: true });
  return dir;
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

const waitForPort = async (port, ms) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not listen on port ${port} within ${ms} ms`);
};

const withTimeout = (promise, ms, what) => {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/// Stops a child process: SIGTERM, then SIGKILL if it is still there after `ms`.
const stop = async (child, ms) => {
  if (exited(child)) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await withTimeout(gone, ms, 'stopping tauri-driver').catch(() => {
    child.kill('SIGKILL');
    return gone;
  });
};

/// The app processes running on `home` (its own data folder tells them apart from any other
/// KubeQuest on the machine, so only this test's app is ever signalled).
const appProcesses = (home) => {
  const binary = realpathSync(required('KQ_APP_BINARY'));
  const marker = `XDG_DATA_HOME=${home.env.XDG_DATA_HOME}`;
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== binary) continue;
      if (readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) continue;
      if (!readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(marker)) continue;
      pids.push(Number(entry));
    } catch {
      // The process ended while being looked at, or is not ours to read.
    }
  }
  return pids;
};

/// Makes sure the app on `home` has exited, so a relaunch on the same home is a fresh start
/// (single-instance would otherwise hand the new launch to the old window).
const stopApp = async (home, ms) => {
  if (process.platform !== 'linux') return;
  const deadline = Date.now() + ms;
  while (appProcesses(home).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = appProcesses(home);
  if (left.length === 0) return;
  console.error(`desktop harness: the app (pid ${left.join(', ')}) did not exit after the session closed; killing it`);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  while (appProcesses(home).length > 0) await new Promise((r) => setTimeout(r, 50));
};

/// A fresh home for one app "installation": data, config, cache and state folders.
export const freshHome = () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'kubequest-e2e-'));
  const env = {
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_STATE_HOME: path.join(home, 'state'),
  };
  for (const dir of Object.values(env)) mkdirSync(dir, { recursive: true });
  return { home, env };
};

/// A command given without a folder, found on the harness's own PATH: a test may launch the
/// app (and so the driver's environment) with another PATH, one without kubectl for example.
const onOwnPath = (command) => {
  if (command.includes('/')) return command;
  try {
    return execFileSync('sh', ['-c', 'command -v "$0"', command], { encoding: 'utf8' }).trim() || command;
  } catch {
    return command;
  }
};

/// Starts tauri-driver for an app on `home` (no window yet: see `openSession`).
export const startDriver = async (home = freshHome()) => {
  const port = await freePort();
  const nativePort = await freePort();
  const driverLog = [];
  const child = spawn(
    onOwnPath(required('KQ_TAURI_DRIVER')),
    ['--port', String(port), '--native-port', String(nativePort)],
    { env: { ...process.env, ...home.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => driverLog.push(chunk.toString()));
  }
  try {
    await waitForPort(port, 20_000);
  } catch (err) {
    await stop(child, 5_000);
    throw err;
  }
  return { child, port, home, log: () => driverLog.join('') };
};

/// Launches the app through a running driver and opens a WebDriver session on its window.
export const openSession = async (driver) => {
  const { child, port, home } = driver;
  let session;
  try {
    session = await new Builder()
      .usingServer(`http://127.0.0.1:${port}/`)
      .withCapabilities({
        browserName: 'wry',
        'tauri:options': { application: required('KQ_APP_BINARY') },
      })
      .build();
  } catch (err) {
    await stop(child, 5_000);
    throw new Error(`could not open the app window: ${err.message}\n${driver.log()}`);
  }
  return {
    session,
    home,
    log: driver.log,
    /// Closes the window and stops the driver; the home folder stays for a restart.
    quit: async () => {
      try {
        // Ending the session should end the app, but under Xvfb the app now and then stays up
        // with its window open (its main loop idle, never asked to close). So the wait is
        // bounded and the app is made to exit below either way.
        await withTimeout(session.quit(), 15_000, 'closing the session').catch((err) => {
          console.error(`desktop harness: ${err.message}`);
        });
      } finally {
        await stop(child, 5_000);
        await stopApp(home, 3_000);
      }
    },
  };
};

/// Starts tauri-driver and opens a session on the app. `home` keeps data across restarts.
export const launch = async (home = freshHome()) => openSession(await startDriver(home));

/// Starts `mission` as a learner does: its card on the map, then the details panel's start
/// button, then waits until the mission screen says it runs on the cluster. Returns the screen.
export const startMission = async (session, mission) => {
  const card = await session.wait(
    until.elementLocated(By.css(`[data-testid="mission-card"][data-mission-id="${mission}"]`)),
    20_000,
    `the mission map never listed the ${mission} mission`,
  );
  await card.click();
  const start = await session.wait(
    until.elementLocated(By.css(`[data-testid="start-mission"][data-mission-id="${mission}"]`)),
    10_000,
    'the details panel has a start button',
  );
  await start.click();
  const screen = await session.wait(until.elementLocated(By.css('[data-testid="mission-screen"]')), 10_000);
  await session.wait(
    async () => (await screen.getAttribute('data-phase')) === 'running',
    60_000,
    `the ${mission} mission should start on the embedded cluster`,
  );
  return screen;
};

export const screenshot = async (session, name) => {
  const file = path.join(artifacts(), `${name}.png`);
  writeFileSync(file, await session.takeScreenshot(), 'base64');
  return file;
};

/// Server, token and CA of the embedded cluster, from the kubeconfig the app on `home` wrote.
export const embeddedCluster = (home) => {
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

/// One authenticated request to the embedded cluster over HTTPS, as kubectl makes it; resolves
/// with the parsed JSON body. `contentType` for PATCH: `application/merge-patch+json`.
export const clusterCall = (cluster, method, apiPath, body, contentType = 'application/json') =>
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
          'content-type': contentType,
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
