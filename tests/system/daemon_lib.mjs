// tests/system/daemon_lib.mjs: a real `ferry serve` on 127.0.0.1 (random port)
// with a fresh root and state directory, and small clients for its API.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export const FERRY = process.env.FERRY;
if (!FERRY) throw new Error('set FERRY to the ferry binary');

export function tempTree() {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-daemon-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  return { dir, root, state: join(dir, 'state') };
}

export function writeRandom(path, size) {
  writeFileSync(path, randomBytes(size));
}

// A file of size bytes, made at once but not sparse (ferry skips holes, so a
// sparse file would copy in no time): fallocate, else written zeros.
export function allocated(path, size) {
  try {
    execFileSync('fallocate', ['-l', String(size), path], { stdio: 'ignore' });
  } catch {
    writeFileSync(path, Buffer.alloc(size));
  }
}

// Starts the daemon; resolves when it printed its URL. opts.nofile: its
// open-file limit (soft and hard, as `ulimit -n` sets them).
export async function startDaemon(t, extra = [], token = randomBytes(16).toString('hex'), opts = {}) {
  const args = ['serve', '--listen', '127.0.0.1:0', '--root', t.root, '--state-dir', t.state, ...extra];
  const [cmd, argv] = opts.nofile
    ? ['sh', ['-c', `ulimit -n ${Number(opts.nofile)} && exec "$0" "$@"`, FERRY, ...args]]
    : [FERRY, args];
  const proc = spawn(cmd, argv, { env: { ...process.env, FERRY_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('daemon did not start: ' + stderr)), 10000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\/#token=(\w+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${stderr}`)));
  });
  let stopping = false;
  proc.on('exit', (code, sig) => {
    if (!stopping) console.error(`# the daemon died (exit ${code}, signal ${sig}):\n${stderr}`);
  });
  const base = `http://127.0.0.1:${port}`;
  const d = {
    proc, port, token, base, stderr: () => stderr,
    expectDeath() { stopping = true; },
    async api(method, path, body, headers = {}) {
      const h = { Authorization: `Bearer ${token}`, ...headers };
      const init = { method, headers: h };
      if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
      const t0 = performance.now();
      let r;
      try {
        r = await fetch(base + path, init);
      } catch (e) {
        // The daemon closes connections idle for 20 s; a keep-alive socket the
        // client reuses just then fails once: ask again on a new one.
        if (e?.cause?.code !== 'UND_ERR_SOCKET') throw e;
        r = await fetch(base + path, init);
      }
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* metrics, html */ }
      return { status: r.status, json, text, ms: performance.now() - t0 };
    },
    ws(query = `?token=${token}`, opts = {}) {
      return new WebSocket(`ws://127.0.0.1:${port}/api/events${query}`, opts);
    },
    async stop(signal = 'SIGTERM') {
      stopping = true;
      if (proc.exitCode !== null) return proc.exitCode;
      const done = new Promise((r) => proc.on('exit', (code) => r(code)));
      proc.kill(signal);
      return done;
    },
  };
  return d;
}

// Collects messages of a WebSocket; waitFor(pred) resolves with the first match.
export function collect(ws) {
  const msgs = [];
  const waiters = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    m._t = performance.now();
    msgs.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  return {
    msgs,
    waitFor(pred, ms = 10000) {
      const hit = msgs.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => reject(new Error('timed out waiting for a WebSocket message')), ms);
      });
    },
  };
}

export function opened(ws) {
  return new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); ws.on('unexpected-response', (_req, res) => reject(new Error('HTTP ' + res.statusCode))); });
}

// Every name under dir, recursively (for "no temp file left").
export function listAll(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(p);
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) out.push(...listAll(p));
  }
  return out;
}

export function cleanup(t) { rmSync(t.dir, { recursive: true, force: true }); }
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
