// bench/daemon/watchers.bench.mjs [BASE]: 100 WebSocket watchers during the
// 20,000 x 4 KiB job against none (target: <= 1.05x), and the API meanwhile
// (GET /api/jobs/ID every 50 ms: target p99 < 10 ms).
//
// The watchers (watchers.child.mjs, another process) read and parse every
// message, file events included. The job is timed from POST /api/jobs to the
// `done` event of this process's own client (which takes no file events);
// the poller runs in both cases, on its own keep-alive connection. Durable
// and --no-fsync jobs, with and without watchers: the four turn in order every
// round, each into a fresh directory after `sync` and a pause.
import { fork, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, opened } from '../../tests/system/daemon_lib.mjs';
import {
  PAUSE_MS, benchDaemon, dataset, checkSpace, latencyRow, machineState, median, rawClient,
  rawLog, removeRun, runDir, sleep, warm,
} from './lib.mjs';

const ROUNDS = Number(process.env.ROUNDS || 5);
const WATCHERS = Number(process.env.WATCHERS || 100);
const small = dataset('small');
checkSpace(ROUNDS * 4 * 0.2 + 1);
const run = runDir('watchers');
const raw = rawLog('watchers');
warm(small);
console.log(`machine at start: ${await machineState()}\n`);

const d = await benchDaemon(run);
const ws = d.ws();
const ev = collect(ws);
await opened(ws);
ws.send(JSON.stringify({ type: 'subscribe', files: false }));
const http = rawClient(d.port, d.token);

async function startWatchers(n) {
  const child = fork(fileURLToPath(new URL('./watchers.child.mjs', import.meta.url)), [String(d.port), d.token, String(n)]);
  const ready = await new Promise((resolve) => child.once('message', (m) => resolve(m.ready)));
  if (ready !== n) throw new Error(`only ${ready} of ${n} watchers connected`);
  return child;
}

async function oneJob(watchers, fsync) {
  const child = watchers ? await startWatchers(watchers) : null;
  spawnSync('sync');
  await sleep(PAUSE_MS);
  const lat = [];
  let finished = false;
  const t0 = performance.now();
  const r = await d.api('POST', '/api/jobs', { sources: [small], dest: run.fresh(fsync ? 'f' : 'n'), fsync });
  if (r.status !== 201) throw new Error(`POST /api/jobs: ${r.status} ${r.text}`);
  const id = r.json.id;
  const poller = (async () => {
    for (let next = performance.now(); !finished; next += 50) {
      const a = await http.request('GET', `/api/jobs/${id}`);
      if (a.status !== 200) throw new Error(`GET /api/jobs/${id}: ${a.status}`);
      lat.push(a.ms);
      const wait = next + 50 - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  const m = await ev.waitFor((x) => x.type === 'job' && x.job.id === id && ['done', 'failed', 'cancelled'].includes(x.job.state), 600000);
  const secs = (m._t - t0) / 1000;
  finished = true;
  await poller;
  if (m.job.state !== 'done' || m.job.files_done !== 20000) throw new Error(`job ${m.job.state}, ${m.job.files_done} files`);
  const server = (Date.parse(m.job.finished_at) - Date.parse(m.job.started_at)) / 1000;
  let counts = null;
  if (child) {
    child.send({ stop: id });
    counts = await new Promise((resolve) => child.once('message', (x) => resolve(x.counts)));
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { secs, server, lat, counts, endAt: performance.timeOrigin + m._t };
}

const kinds = [[0, true], [WATCHERS, true], [0, false], [WATCHERS, false]];
const res = new Map(kinds.map((k) => [k.join(), { secs: [], server: [], lat: [], lag: [], short: 0, dropped: 0 }]));
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < kinds.length; k++) {
    const [w, fsync] = kinds[(k + r) % kinds.length];
    const x = await oneJob(w, fsync);
    raw({ round: r, watchers: w, fsync, s: x.secs, server_s: x.server, api_ms: x.lat,
      files_seen: x.counts?.map((c) => c.files), closed: x.counts?.filter((c) => c.closeCode !== null).length });
    const acc = res.get([w, fsync].join());
    acc.secs.push(x.secs);
    acc.server.push(x.server);
    acc.lat.push(...x.lat);
    if (x.counts) {
      acc.short += x.counts.filter((c) => c.files !== 20000).length;
      acc.dropped += x.counts.filter((c) => c.closeCode !== null).length;
      const ends = x.counts.map((c) => c.endedAt).filter((t) => t !== null);
      if (ends.length) acc.lag.push(Math.max(...ends) - x.endAt);
    }
  }
}
http.close();
ws.close();
await d.stop();

const g = (w, f) => res.get([w, f].join());
console.log(`| 20,000 x 4 KiB, ${ROUNDS} rounds | watchers | median s (POST -> "done") | ratio | median s (started_at -> finished_at) | ratio |`);
console.log('|---|---|---|---|---|---|');
for (const f of [true, false]) {
  const base = g(0, f), many = g(WATCHERS, f);
  const mode = f ? 'durable' : '--no-fsync';
  console.log(`| ${mode} | 0 | ${median(base.secs).toFixed(3)} | 1.00x | ${median(base.server).toFixed(3)} | 1.00x |`);
  console.log(`| ${mode} | ${WATCHERS} | ${median(many.secs).toFixed(3)} | **${(median(many.secs) / median(base.secs)).toFixed(2)}x** | ` +
    `${median(many.server).toFixed(3)} | ${(median(many.server) / median(base.server)).toFixed(2)}x |`);
}
console.log('');
console.log(`| GET /api/jobs/ID every 50 ms during the job | n | p50 | p90 | p99 | max | unit |`);
console.log('|---|---|---|---|---|---|---|');
for (const f of [true, false])
  for (const w of [0, WATCHERS])
    console.log(latencyRow(`${f ? 'durable' : '--no-fsync'}, ${w} watchers`, g(w, f).lat));
console.log('');
for (const f of [true, false]) {
  const many = g(WATCHERS, f);
  console.log(`${f ? 'durable' : '--no-fsync'}, ${WATCHERS} watchers: the last watcher saw "done" ` +
    `${median(many.lag).toFixed(0)} ms (median; max ${Math.max(...many.lag).toFixed(0)} ms) after this process's client; ` +
    `watchers missing file events: ${many.short}, closed by the daemon: ${many.dropped}.`);
}
console.log(`\nper round, s: ${kinds.map(([w, f]) => `${w}w${f ? '' : ' no-fsync'}: ${g(w, f).secs.map((x) => x.toFixed(2)).join(' ')}`).join('; ')}`);
console.log(`\nmachine at end: ${await machineState()}`);
await removeRun(run.dir);
process.exit(); // collect()'s waitFor timers would hold the loop for minutes
