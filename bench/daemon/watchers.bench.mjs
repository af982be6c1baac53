// bench/daemon/watchers.bench.mjs [BASE]: 100 WebSocket watchers during the
// 20,000 x 4 KiB job against none (target: <= 1.05x), and the API meanwhile
// (GET /api/jobs/ID every POLL_MS, default 20 ms: target p99 < 10 ms).
//
// Kinds of watchers (watchers.child.mjs, another process, all reading
// and parsing every message they get): "ui" watchers take job events only, as
// the web UI and `ferry watch` subscribe; "file" watchers take every per-file
// result too (the default subscription: 20,000 messages each, 2,000,000 in
// all); "batch" watchers take them too, in "files" messages of many results
// ({"type": "subscribe", "files": "batch"}); "paused" watchers take them one
// by one but read nothing until the job has ended (the daemon's cost alone).
// And a control that is no watcher at all: "spin" runs a shell's busy loop
// (`while :; do :; done`) under the watchers' nice and scheduling class, a
// neighbour that talks to nobody: what any process that takes the core the
// copy leaves costs the job on this machine.
// KINDS=ui,paused picks some (no watchers, the baseline, always runs). The
// job is timed from POST /api/jobs to the `done` event of this process's own
// client (which takes no file events); the API poller runs in every case, in a
// process of its own (poller.child.mjs), on one keep-alive connection. Durable and --no-fsync jobs, with
// each kind of watchers and none: they turn in order every round, each into a fresh
// directory after `sync` and a pause. Also the CPU time (user + system, from
// /proc) of the daemon, of its service thread and of the watchers' process from POST to "done": the
// watchers run on the same two cores as the copy here, where in a studio they
// are browsers on other machines: WATCHERS_NICE=19 runs their process under
// nice(1), so that their own parsing takes the CPU the copy leaves (0, the
// default: they compete with it as equals); WATCHERS_SCHED=idle runs it under
// SCHED_IDLE (chrt --idle 0): it runs only on a core nothing else wants, the
// nearest this machine has to watchers elsewhere (the loopback's kernel work
// for their frames still runs on the daemon's side, in its sends). And the bytes the daemon sent in that
// time (ss's bytes_sent over its connections): watchers that read slowly take the
// rest of their results after the job. SERVE_ARGS: the daemon's options. Ratios: of medians, and the median of the
// per-round ratios (the steadier one on this disk).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, opened } from '../../tests/system/daemon_lib.mjs';
import {
  PAUSE_MS, benchDaemon, dataset, checkSpace, latencyRow, machineState, median, rawLog, removeRun, runDir, sleep, warm,
} from './lib.mjs';

const ROUNDS = Number(process.env.ROUNDS || 5);
const WATCHERS = Number(process.env.WATCHERS || 100);
const WATCHERS_NICE = Number(process.env.WATCHERS_NICE || 0);
const WATCHERS_SCHED = process.env.WATCHERS_SCHED || 'other'; // or idle
if (!['other', 'idle'].includes(WATCHERS_SCHED)) throw new Error(`WATCHERS_SCHED=${WATCHERS_SCHED}: other or idle`);
const POLL_MS = Number(process.env.POLL_MS || 20); // the API poller: a GET this often
const small = dataset('small');
checkSpace(ROUNDS * 6 * 0.2 + 1);
const run = runDir('watchers');
const raw = rawLog('watchers');
warm(small);
console.log(`machine at start: ${await machineState()}\n`);
console.log(`watchers: ${WATCHERS} in one process, nice ${WATCHERS_NICE}, ${WATCHERS_SCHED === 'idle' ? 'SCHED_IDLE' : 'SCHED_OTHER'}\n`);

const d = await benchDaemon(run);
const ws = d.ws();
const ev = collect(ws);
await opened(ws);
ws.send(JSON.stringify({ type: 'subscribe', files: false }));
const poller = spawn(process.execPath, [fileURLToPath(new URL('./poller.child.mjs', import.meta.url)), String(d.port), d.token],
  { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await new Promise((resolve) => poller.once('message', resolve));

// Bytes the daemon has sent so far on its open connections (ss's bytes_sent:
// every WebSocket client's and the API's).
function sentOf(port) {
  const out = spawnSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`]).stdout.toString();
  return [...out.matchAll(/bytes_sent:(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
}

// CPU seconds per thread name (schedstat, to the nanosecond) of a process's
// live threads: where the daemon's time goes (its copy threads, the service
// thread, the journal). Threads that end during a job (a job's own) are in
// the process's total, not here. The main thread is "service": the daemon's
// own fan-out, apart from the copy.
function threadsCpuOf(pid) {
  const by = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? 'service' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      by.set(name, (by.get(name) || 0) + ns / 1e9);
    } catch { /* the thread ended meanwhile */ }
  }
  return by;
}

// CPU seconds (user + system) a process has used so far.
function cpuOf(pid) {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime: fields 14, 15, in ticks of 10 ms
}

async function startWatchers(n, kind) {
  const sched = WATCHERS_SCHED === 'idle' ? ['chrt', '--idle', '0'] : [];
  if (kind === 'spin') return spawn('nice', ['-n', String(WATCHERS_NICE), ...sched, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  // Under nice(1) or chrt(1), so that every thread of the process (V8's,
  // libuv's) has the same priority.
  const args = [fileURLToPath(new URL('./watchers.child.mjs', import.meta.url)), String(d.port), d.token, String(n), kind];
  const child = spawn('nice', ['-n', String(WATCHERS_NICE), ...sched, process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise((resolve) => child.once('message', (m) => resolve(m.ready)));
  if (ready !== n) throw new Error(`only ${ready} of ${n} watchers connected`);
  return child;
}

async function oneJob(kind, fsync) {
  const child = kind !== 'none' ? await startWatchers(WATCHERS, kind) : null;
  spawnSync('sync');
  await sleep(PAUSE_MS);
  const cpu0 = [cpuOf(d.proc.pid), child ? cpuOf(child.pid) : 0, sentOf(d.port)];
  const threads0 = threadsCpuOf(d.proc.pid);
  const t0 = performance.now();
  const r = await d.api('POST', '/api/jobs', { sources: [small], dest: run.fresh(fsync ? 'f' : 'n'), fsync });
  if (r.status !== 201) throw new Error(`POST /api/jobs: ${r.status} ${r.text}`);
  const id = r.json.id;
  poller.send({ poll: `/api/jobs/${id}`, every: POLL_MS });
  const m = await ev.waitFor((x) => x.type === 'job' && x.job.id === id && ['done', 'failed', 'cancelled'].includes(x.job.state), 600000);
  const secs = (m._t - t0) / 1000;
  const threads = Object.fromEntries([...threadsCpuOf(d.proc.pid)].map(([k, v]) => [k, +(v - (threads0.get(k) || 0)).toFixed(4)]));
  const cpu = [cpuOf(d.proc.pid) - cpu0[0], child ? cpuOf(child.pid) - cpu0[1] : 0, threads.service, sentOf(d.port) - cpu0[2]];
  poller.send({ stop: true });
  const polled = await new Promise((resolve) => poller.once('message', resolve));
  if (polled.bad) throw new Error(`GET /api/jobs/${id}: ${polled.bad} answers not 200`);
  if (m.job.state !== 'done' || m.job.files_done !== 20000) throw new Error(`job ${m.job.state}, ${m.job.files_done} files`);
  const server = (Date.parse(m.job.finished_at) - Date.parse(m.job.started_at)) / 1000;
  let counts = null;
  if (child && kind === 'spin') {
    child.kill();
    await new Promise((resolve) => child.once('exit', resolve));
  } else if (child) {
    child.send({ stop: id });
    counts = await new Promise((resolve) => child.once('message', (x) => resolve(x.counts)));
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { secs, server, lat: polled.lat, kernel: polled.kernel, counts, cpu, threads, endAt: performance.timeOrigin + m._t };
}

const KINDS = ['none', ...(process.env.KINDS || 'ui,file,batch').split(',').filter((k) => k && k !== 'none')];
const kinds = [true, false].flatMap((fsync) => KINDS.map((k) => [k, fsync]));
const res = new Map(kinds.map((k) => [k.join(), { secs: [], server: [], lat: [], kernel: [], lag: [], daemonCpu: [], watcherCpu: [], serviceCpu: [], threads: [], sent: [], short: 0, dropped: 0, files: 0 }]));
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < kinds.length; k++) {
    const [w, fsync] = kinds[(k + r) % kinds.length];
    const x = await oneJob(w, fsync);
    raw({ round: r, watchers: ['none', 'spin'].includes(w) ? 0 : WATCHERS, kind: w, fsync, s: x.secs, server_s: x.server,
      daemon_cpu_s: x.cpu[0], watchers_cpu_s: x.cpu[1], service_cpu_s: x.cpu[2], threads_cpu_s: x.threads, sent_bytes: x.cpu[3], api_ms: x.lat, api_kernel_ms: x.kernel,
      files_seen: x.counts?.map((c) => c.files), closed: x.counts?.filter((c) => c.closeCode !== null).length });
    const acc = res.get([w, fsync].join());
    acc.secs.push(x.secs);
    acc.server.push(x.server);
    acc.lat.push(...x.lat);
    acc.kernel.push(...x.kernel);
    acc.daemonCpu.push(x.cpu[0]);
    acc.watcherCpu.push(x.cpu[1]);
    acc.serviceCpu.push(x.cpu[2]);
    acc.threads.push(x.threads);
    acc.sent.push(x.cpu[3]);
    if (x.counts) {
      const want = w === 'ui' ? 0 : 20000;
      acc.short += x.counts.filter((c) => c.files !== want).length;
      acc.dropped += x.counts.filter((c) => c.closeCode !== null).length;
      const ends = x.counts.map((c) => c.endedAt).filter((t) => t !== null);
      if (ends.length) acc.lag.push(Math.max(...ends) - x.endAt);
    }
  }
}
poller.send({ exit: true });
ws.close();
await d.stop();

const g = (w, f) => res.get([w, f].join());
const perRound = (a, b) => median(a.map((x, i) => x / b[i]));
const label = (w) => ({ none: 'none', spin: 'none, a busy loop' }[w] || `${WATCHERS} ${w}`);
// With the busy loop among the kinds, one more ratio: each kind against it, the
// same round (what the watchers cost beyond any neighbour on the free core).
const spun = KINDS.includes('spin');
console.log(`| 20,000 x 4 KiB, ${ROUNDS} rounds | watchers | median s (POST -> "done") | ratio of medians | median of per-round ratios |${spun ? ' per-round ratio to the busy loop |' : ''} daemon CPU s | service thread CPU s | watchers' CPU s | sent during the job, MB |`);
console.log(`|---|---|---|---|---|${spun ? '---|' : ''}---|---|---|---|`);
for (const f of [true, false]) {
  const base = g('none', f);
  for (const w of KINDS) {
    const x = g(w, f);
    const ratio = w === 'none' ? '1.00x' : `**${(median(x.secs) / median(base.secs)).toFixed(2)}x**`;
    const pr = w === 'none' ? '1.00x' : `**${perRound(x.secs, base.secs).toFixed(2)}x**`;
    const ps = spun ? ` ${perRound(x.secs, g('spin', f).secs).toFixed(2)}x |` : '';
    console.log(`| ${f ? 'durable' : '--no-fsync'} | ${label(w)} | ${median(x.secs).toFixed(3)} | ${ratio} | ${pr} |${ps} ` +
      `${median(x.daemonCpu).toFixed(2)} | ${median(x.serviceCpu).toFixed(3)} | ${w === 'none' ? '-' : median(x.watcherCpu).toFixed(2)} | ${(median(x.sent) / 1e6).toFixed(1)} |`);
  }
}
console.log('');
// The daemon's CPU by thread name (medians; the copy threads summed): where the
// watchers' extra cost lands.
const names = [...new Set([...res.values()].flatMap((x) => x.threads.flatMap((t) => Object.keys(t))))].sort();
console.log(`| daemon CPU s by thread, median | ${names.join(' | ')} | other (ended threads) |`);
console.log(`|---|${names.map(() => '---|').join('')}---|`);
for (const f of [true, false])
  for (const w of KINDS) {
    const x = g(w, f);
    const live = x.threads.map((t) => Object.values(t).reduce((a, b) => a + b, 0));
    console.log(`| ${f ? 'durable' : '--no-fsync'}, ${label(w)} | ${names.map((n) => median(x.threads.map((t) => t[n] || 0)).toFixed(3)).join(' | ')} | ` +
      `${median(x.daemonCpu.map((c, i) => c - live[i])).toFixed(3)} |`);
  }
console.log('');
// Read: as the client's process takes it in; received: when its kernel had
// the answer (the daemon and the loopback, without the client's own wake-up).
console.log(`| GET /api/jobs/ID every ${POLL_MS} ms during the job | n | p50 | p90 | p99 | max | unit |`);
console.log('|---|---|---|---|---|---|---|');
for (const f of [true, false])
  for (const w of KINDS) {
    console.log(latencyRow(`${f ? 'durable' : '--no-fsync'}, watchers: ${label(w)}, answer read`, g(w, f).lat));
    console.log(latencyRow(`${f ? 'durable' : '--no-fsync'}, watchers: ${label(w)}, answer received`, g(w, f).kernel));
  }
console.log('');
for (const f of [true, false]) {
  for (const w of KINDS.filter((k) => k !== 'none' && k !== 'spin')) {
    const many = g(w, f);
    console.log(`${f ? 'durable' : '--no-fsync'}, ${label(w)} watchers: the last watcher saw "done" ` +
      `${median(many.lag).toFixed(0)} ms (median; max ${Math.max(...many.lag).toFixed(0)} ms) after this process's client; ` +
      `watchers with a wrong count of file events: ${many.short}, closed by the daemon: ${many.dropped}.`);
  }
}
console.log(`\nper round, s: ${kinds.map(([w, f]) => `${label(w)}${f ? '' : ' no-fsync'}: ${g(w, f).secs.map((x) => x.toFixed(2)).join(' ')}`).join('; ')}`);
console.log(`\nmachine at end: ${await machineState()}`);
await removeRun(run.dir);
process.exit(); // collect()'s waitFor timers would hold the loop for minutes
