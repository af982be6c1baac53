// bench/daemon/lib.mjs: what the daemon benchmarks share, on top of
// tests/system/daemon_lib.mjs (which starts the daemon and collects events).
//
// Layout under BASE (default /var/tmp/ferry-bench-daemon, or $FERRY_BENCH_DAEMON_DIR):
//   data/     the datasets, made once (bench/gen-data.sh, plus tiny100k by rss.bench.mjs)
//   run-*/    one fresh directory per benchmark run: daemon state, destinations.
//             Nothing is deleted during a series (ext4 creates files slowly for
//             minutes after a mass deletion, which would punish whichever side
//             runs next); the whole directory goes at the end, then a pause.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, lstatSync, truncateSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, freemem, release } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { FERRY, startDaemon, sleep } from '../../tests/system/daemon_lib.mjs';

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

// A 500 MiB file of allocated zeros (fallocate: made at once, read fast).
// Not a hole: ferry keeps holes, so a sparse file would copy in no time.
export function sparseFile(path, size = 500 * 2 ** 20) {
  if (existsSync(path)) return path;
  writeFileSync(path, '');
  if (spawnSync('fallocate', ['-l', String(size), path]).status !== 0) truncateSync(path, size);
  return path;
}

// HTTP requests on one keep-alive connection, timed by ferry-rtclient
// (bench/rtclient.c), a C process that waits in read() and nothing else: a
// client in this event loop adds its own delays (bench/rtclient.c says how
// much). Found next to $FERRY, or by $FERRY_RTCLIENT. Answers carry `ms`
// (send to the answer read), `kernelMs` (send to the answer received by the
// client's kernel: without the client's own wake-up) and `t0` (the send, in
// performance.now()'s time, for events timed against it).
export function rtClient(port, token) {
  const bin = process.env.FERRY_RTCLIENT || join(dirname(FERRY), 'ferry-rtclient');
  if (!existsSync(bin)) throw new Error(`${bin}: not found (build it: cmake --build build --target ferry-rtclient, or set FERRY_RTCLIENT)`);
  const child = spawn(bin, [String(port), token], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  // CLOCK_MONOTONIC (process.hrtime) to performance.now()'s time: taken
  // again for each request, the first reading in a process dropped (it was
  // 1.8 ms off the later ones).
  const offsetMs = () => Number(process.hrtime.bigint()) / 1e6 - performance.now();
  offsetMs();
  return {
    request(method, path, body) {
      const off = offsetMs();
      return new Promise((resolve) => {
        waiting.push((l) => {
          const [, status, t0, t1, tk, text] = /^(\d+) (\d+) (\d+) (\d+) (.*)$/.exec(l);
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({
            status: Number(status), json, text, ms: (t1 - t0) / 1e6,
            kernelMs: Number(tk) ? (tk - t0) / 1e6 : null, t0: Number(t0) / 1e6 - off,
          });
        });
        child.stdin.write(`${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}\n`);
      });
    },
    close() { child.stdin.end(); },
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
