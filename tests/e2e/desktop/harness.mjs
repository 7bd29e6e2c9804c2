// Drives the real KubeQuest window: tauri-driver in front of WebKitWebDriver, the app binary
// built by `cargo xtask test`, under the Xvfb display and D-Bus session the test command sets up.
// Every run gets fresh data and config folders so progress from one run never leaks into another.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

/// Starts tauri-driver and opens a session on the app. `home` keeps data across restarts.
export const launch = async (home = freshHome()) => {
  const port = await freePort();
  const nativePort = await freePort();
  const driverLog = [];
  const driver = spawn(
    required('KQ_TAURI_DRIVER'),
    ['--port', String(port), '--native-port', String(nativePort)],
    { env: { ...process.env, ...home.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [driver.stdout, driver.stderr]) {
    stream.on('data', (chunk) => driverLog.push(chunk.toString()));
  }
  await waitForPort(port, 20_000);
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
    driver.kill();
    throw new Error(`could not open the app window: ${err.message}\n${driverLog.join('')}`);
  }
  return {
    session,
    home,
    log: () => driverLog.join(''),
    /// Closes the window and stops the driver; the home folder stays for a restart.
    quit: async () => {
      try {
        await session.quit();
      } finally {
        driver.kill();
        await new Promise((r) => (driver.exitCode !== null ? r() : driver.once('exit', r)));
      }
    },
  };
};

export const screenshot = async (session, name) => {
  const file = path.join(artifacts(), `${name}.png`);
  writeFileSync(file, await session.takeScreenshot(), 'base64');
  return file;
};
