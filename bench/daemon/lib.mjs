// bench/daemon/lib.mjs: what the daemon benchmarks share, on top of
// tests/system/daemon_lib.mjs (which starts the daemon and collects events).
//
// Layout under BASE (default /var/tmp/ferry-bench-daemon, or $FERRY_BENCH_DAEMON_DIR):
//   data/     the datasets, made once (bench/gen-data.sh, plus tiny100k by rss.bench.mjs)
//   run-*/    one fresh directory per benchmark run: daemon state, destinations.
//             Nothing is deleted during a series (ext4 creates files slowly for
//             minutes after a mass deletion, which would punish whichever side
//             runs next); the whole directory goes at the end, then a pause.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, lstatSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, totalmem, freemem, release } from 'node:os';
import { join } from 'node:path';
import { startDaemon, sleep } from '../../tests/system/daemon_lib.mjs';

export { sleep };
export const BASE = process.argv[2] || process.env.FERRY_BENCH_DAEMON_DIR || '/var/tmp/ferry-bench-daemon';
export const DATA = join(BASE, 'data');
export const PAUSE_MS = Number(process.env.PAUSE_MS ?? 2000); // after sync, before each timed run

// What a benchmark that dies leaves behind: its daemons are killed and its run
// directories removed as the process exits (an uncaught error included).
const daemons = new Set(), runDirs = new Set();
process.on('exit', () => {
  for (const p of daemons) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
});

// A fresh run directory; fresh() names a new destination inside it.
export function runDir(name) {
  const dir = join(BASE, `run-${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  runDirs.add(dir);
  let n = 0;
  return { dir, fresh: (tag = 'd') => join(dir, `${tag}${n++}`) };
}

// Raw samples, one JSON object a line, in BASE/logs/NAME-TIME.jsonl: what the
// tables summarize, kept (and there even if a run is cut short).
export function rawLog(name) {
  mkdirSync(join(BASE, 'logs'), { recursive: true });
  const path = join(BASE, 'logs', `${name}-${new Date().toISOString().replace(/[:.]/g, '')}.jsonl`);
  return (obj) => appendFileSync(path, JSON.stringify(obj) + '\n');
}

// Removes a run directory, then lets ext4 settle before anything else runs.
export async function removeRun(dir, pauseMs = Number(process.env.SETTLE_MS ?? 20000)) {
  rmSync(dir, { recursive: true, force: true });
  runDirs.delete(dir);
  spawnSync('sync');
  await sleep(pauseMs);
}

// A daemon whose roots cover the datasets and the run directory; its journal
// in run.dir/STATE.
export async function benchDaemon(run, extra = [], state = 'state') {
  const t = { dir: run.dir, root: run.dir, state: join(run.dir, state) };
  const more = (process.env.SERVE_ARGS || '').split(' ').filter(Boolean); // e.g. SERVE_ARGS=--realtime
  const d = await startDaemon(t, ['--root', DATA, ...extra, ...more]);
  daemons.add(d.proc);
  return d;
}

// Nearest-rank percentile.
export function pct(v, p) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}
export const median = (v) => pct(v, 50);

export function latencyHeader(title) {
  return `| ${title} | n | p50 | p90 | p99 | max | unit |\n|---|---|---|---|---|---|---|`;
}
export function latencyRow(name, v, unit = 'ms', digits = 2) {
  if (!v.length) return `| ${name} | 0 | - | - | - | - | ${unit} |`;
  const f = (x) => x.toFixed(digits);
  return `| ${name} | ${v.length} | ${f(pct(v, 50))} | ${f(pct(v, 90))} | ${f(pct(v, 99))} | ${f(Math.max(...v))} | ${unit} |`;
}

// The machine as the run found it: the figures only mean something beside it.
// Other processes' CPU is sampled over one second from /proc/PID/stat.
export async function machineState(path = BASE) {
  const fs = spawnSync('findmnt', ['-no', 'FSTYPE', '-T', path]).stdout.toString().trim();
  const ticks = () => {
    const out = new Map();
    for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = st.lastIndexOf(')');
        const f = st.slice(close + 2).split(' ');
        out.set(pid, { comm: st.slice(st.indexOf('(') + 1, close), t: Number(f[11]) + Number(f[12]) });
      } catch { /* gone */ }
    }
    return out;
  };
  const a = ticks();
  await sleep(1000);
  const busy = [];
  for (const [pid, v] of ticks()) {
    const pcpu = v.t - (a.get(pid)?.t ?? v.t); // clock ticks (100 Hz) in one second = %
    if (pcpu >= 5 && Number(pid) !== process.pid) busy.push([pcpu, v.comm]);
  }
  busy.sort((x, y) => y[0] - x[0]);
  return `${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (${(freemem() / 2 ** 30).toFixed(0)} free), ` +
    `kernel ${release()}, ${fs} at ${path}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}` +
    `; other processes over 5 % CPU: ${busy.length ? busy.slice(0, 5).map(([c, n]) => `${n} ${c} %`).join(', ') : 'none'}`;
}

// /proc/PID/status fields in KiB (VmRSS, VmHWM, RssAnon, RssFile...).
export function procStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const out = {};
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

// Every regular file or symlink below dir (directories themselves don't count:
// a cancelled job may leave the directories it made).
export function filesUnder(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...filesUnder(p));
    else if (st) out.push(p);
  }
  return out;
}

// Reads every file below dir once, so that the sources are in the page cache.
export function warm(dir) {
  spawnSync('sh', ['-c', `find "$1" -type f -exec cat {} + >/dev/null`, 'sh', dir]);
}

// A 500 MiB file that is one hole: what a copy reads fast and writes as zeros.
export function sparseFile(path, size = 500 * 2 ** 20) {
  if (existsSync(path)) return path;
  writeFileSync(path, '');
  truncateSync(path, size);
  return path;
}

// A minimal HTTP/1.1 client on one keep-alive socket: fetch() (undici) costs
// about a millisecond per request on this machine, which would hide what the
// daemon takes. request() times from just before the write to the last byte
// of the answer; a socket the daemon closed (idle) is reopened once.
export function rawClient(port, token) {
  let sock = null, buf = Buffer.alloc(0), pending = null;
  function open() {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
      s.on('error', (e) => { if (pending) pending.reject(e); else reject(e); });
      s.on('close', () => { if (sock === s) sock = null; if (pending) pending.reject(new Error('closed')); });
      s.on('data', (d) => { buf = Buffer.concat([buf, d]); parse(); });
    });
  }
  function parse() {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || !pending) return;
    const head = buf.subarray(0, end).toString();
    const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < end + 4 + len) return;
    const t = performance.now();
    const status = Number(head.split(' ')[1]);
    const body = buf.subarray(end + 4, end + 4 + len).toString();
    buf = buf.subarray(end + 4 + len);
    const p = pending;
    pending = null;
    let json = null;
    try { json = JSON.parse(body); } catch { /* not JSON */ }
    p.resolve({ status, json, text: body, ms: t - p.t0 });
  }
  async function once(method, path, body) {
    if (!sock) sock = await open();
    const b = body === undefined ? '' : JSON.stringify(body);
    const req = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    buf = Buffer.alloc(0);
    return new Promise((resolve, reject) => {
      pending = { resolve, reject, t0: performance.now() };
      sock.write(req);
    });
  }
  return {
    async request(method, path, body) {
      try { return await once(method, path, body); } catch (e) {
        pending = null;
        if (sock) { sock.destroy(); sock = null; }
        return once(method, path, body);
      }
    },
    close() { if (sock) sock.destroy(); sock = null; },
  };
}

// Refuses to start unless BASE has the free space the run will write (GiB).
export function checkSpace(gib) {
  const avail = Number(spawnSync('df', ['--output=avail', '-B1G', BASE]).stdout.toString().split('\n')[1]);
  if (!(avail >= gib)) throw new Error(`${BASE}: ${avail} GiB free, this benchmark needs about ${gib}`);
}

// The path of a dataset of bench/gen-data.sh under DATA; run.sh makes them.
export function dataset(name) {
  const p = join(DATA, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run bench/daemon/run.sh, or bench/gen-data.sh ${DATA}`);
  return p;
}
