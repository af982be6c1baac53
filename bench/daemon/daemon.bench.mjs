// bench/daemon/daemon.bench.mjs DATA: the daemon's figures (issue: ferry serve).
//   1. cancel round trip: POST /api/jobs/ID/cancel -> response, and the WebSocket
//      "cancelled" event after the request, over RUNS random cancels of a 500 MB copy
//   2. the 781-frame sequence through the daemon vs `ferry copy`, interleaved
//   3. 100 WebSocket watchers during the 20,000-file job vs none; API p99 meanwhile
//   (the daemon's peak RSS during a 100,000-file job: rss.bench.mjs)
// Prints markdown tables. DATA is the directory of bench/gen-data.sh.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, collect, opened, sleep } from '../../tests/system/daemon_lib.mjs';

const DATA = process.argv[2] || '/var/tmp/ferry-bench';
const RUNS = Number(process.env.RUNS || 200);
const ROUNDS = Number(process.env.ROUNDS || 5);
const work = join(DATA, `daemon-${Date.now()}`);
mkdirSync(work, { recursive: true });
const t = { dir: work, root: DATA, state: join(work, 'state') };
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))]; };
const row = (name, v, unit = 'ms') => `| ${name} | ${v.length} | ${pct(v, 50).toFixed(2)} | ${pct(v, 90).toFixed(2)} | ${pct(v, 99).toFixed(2)} | ${Math.max(...v).toFixed(2)} | ${unit} |`;
let n = 0;
const fresh = () => join(work, `d${n++}`);
const median = (v) => pct(v, 50);

const d = await startDaemon(t, ['--max-running', '8']);
const ws = d.ws();
const c = collect(ws);
await opened(ws);
ws.send(JSON.stringify({ type: 'subscribe', files: false }));

async function waitState(id, states, ms = 600000) {
  return c.waitFor((m) => m.type === 'job' && m.job.id === id && states.includes(m.job.state), ms);
}

// 1. cancel round trips
const sparse = join(work, 'sparse.plate');
writeFileSync(sparse, '');
truncateSync(sparse, 500 * 1024 * 1024);
const post = [], event = [], latency = [];
for (let i = 0; i < RUNS; i++) {
  const src = i % 10 === 0 ? join(DATA, 'big', 'plate.bin') : sparse; // every tenth with real data
  const dest = fresh();
  const job = (await d.api('POST', '/api/jobs', { sources: [src], dest, bwlimit: '400M' })).json;
  await sleep(50 + Math.random() * 700);
  const t0 = performance.now();
  const ev = waitState(job.id, ['cancelled', 'done']);
  const r = await d.api('POST', `/api/jobs/${job.id}/cancel`);
  const t1 = performance.now();
  const m = await ev;
  if (r.json.state !== 'cancelled') continue; // finished before the cancel: not a cancel
  post.push(t1 - t0);
  event.push(m._t - t0);
  const left = existsSync(dest) ? readdirSync(dest) : [];
  if (left.length) throw new Error(`run ${i}: ${dest} holds ${left} when the cancel answer arrived`);
  const done = await c.waitFor((x) => x.type === 'job' && x.job.id === job.id && x.job.cancel_latency_us !== null, 10000).catch(() => null);
  if (done) latency.push(done.job.cancel_latency_us / 1000);
}
console.log('| cancel (500 MB copy, random moment) | runs | p50 | p90 | p99 | max | unit |');
console.log('|---|---|---|---|---|---|---|');
console.log(row('POST cancel -> response', post));
console.log(row('request -> WebSocket "cancelled"', event));
if (latency.length) console.log(row('cancel_latency_us (last worker stopped)', latency));
console.log('\nAfter every answer: no file under its final name and no temp in the destination.\n');

// 2. the sequence through the daemon vs ferry copy
const seq = join(DATA, 'seq');
const viaDaemon = [], viaCli = [];
for (let r = 0; r < ROUNDS; r++) {
  spawnSync('sync'); await sleep(2000);
  let t0 = performance.now();
  const job = (await d.api('POST', '/api/jobs', { sources: [seq], dest: fresh() })).json;
  await waitState(job.id, ['done']);
  viaDaemon.push((performance.now() - t0) / 1000);
  spawnSync('sync'); await sleep(2000);
  t0 = performance.now();
  const cli = spawnSync(process.env.FERRY, ['copy', '-q', seq, fresh() + '/'], { env: { ...process.env, XDG_STATE_HOME: join(work, 'clistate') } });
  if (cli.status !== 0) throw new Error(cli.stderr.toString());
  viaCli.push((performance.now() - t0) / 1000);
}
console.log('| 781 x 800 KiB, durable | median s | ratio |');
console.log('|---|---|---|');
console.log(`| ferry copy | ${median(viaCli).toFixed(2)} | 1.00x |`);
console.log(`| through the daemon (POST -> WebSocket "done") | ${median(viaDaemon).toFixed(2)} | **${(median(viaDaemon) / median(viaCli)).toFixed(2)}x** |\n`);

// 3. 100 watchers during the 20,000-file job vs none; API latency meanwhile
const small = join(DATA, 'small');
async function smallJob(watchers) {
  const socks = [];
  for (let i = 0; i < watchers; i++) { const w = d.ws(); w.on('message', () => {}); socks.push(w); }
  await Promise.all(socks.map(opened));
  spawnSync('sync'); await sleep(2000);
  const t0 = performance.now();
  const job = (await d.api('POST', '/api/jobs', { sources: [small], dest: fresh(), fsync: false })).json;
  const lat = [];
  let finished = false;
  const poll = (async () => {
    while (!finished) { const r = await d.api('GET', `/api/jobs/${job.id}`); lat.push(r.ms); await sleep(50); }
  })();
  await waitState(job.id, ['done']);
  const secs = (performance.now() - t0) / 1000;
  finished = true;
  await poll;
  for (const s of socks) s.close();
  return { secs, lat };
}
const none = [], many = [], apiLat = [];
for (let r = 0; r < ROUNDS; r++) {
  none.push((await smallJob(0)).secs);
  const x = await smallJob(100);
  many.push(x.secs);
  apiLat.push(...x.lat);
}
console.log('| 20,000 x 4 KiB (--no-fsync) | median s | ratio |');
console.log('|---|---|---|');
console.log(`| no WebSocket watcher | ${median(none).toFixed(2)} | 1.00x |`);
console.log(`| 100 watchers | ${median(many).toFixed(2)} | **${(median(many) / median(none)).toFixed(2)}x** |\n`);
console.log('| API during the job (100 watchers) | runs | p50 | p90 | p99 | max | unit |');
console.log('|---|---|---|---|---|---|---|');
console.log(row('GET /api/jobs/ID every 50 ms', apiLat));

// 4. RSS during a 100,000-file job: bench/daemon/rss.bench.mjs

ws.close();
await d.stop();
rmSync(work, { recursive: true, force: true });
