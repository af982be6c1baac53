// bench/daemon/cancel.bench.mjs [BASE]: the cancel round trip of `ferry serve`.
//
// A 500 MiB copy with bwlimit 200M (about 2.5 s) is cancelled at a random
// moment, RUNS times for each source: a sparse file (one hole, made with
// truncate) and a file of random bytes, the two alternating. Measured with one
// WebSocket client connected all along and one keep-alive HTTP connection,
// whose requests a C client times (ferry-rtclient, bench/rtclient.c: a
// client in this event loop adds its own delays):
//   - POST /api/jobs/ID/cancel -> its answer (target p99 <= 2 ms), twice:
//     received by the client's kernel (the daemon and the loopback), and
//     read by the client (its own wake-up too)
//   - the same request -> the WebSocket `job` event with state `cancelled`
//     (target p99 <= 5 ms)
//   - the job's own cancel_latency_us (request -> last worker stopped)
// As soon as each answer arrives the destination must hold no file at all (no
// final name, no .ferry-tmp-* name), and again once the last worker stopped.
import { join } from 'node:path';
import { collect, opened } from '../../tests/system/daemon_lib.mjs';
import {
  DATA, benchDaemon, dataset, filesUnder, latencyRow, machineState, rtClient,
  rawLog, removeRun, runDir, sleep, sparseFile, warm,
} from './lib.mjs';

const RUNS = Number(process.env.RUNS || 200);
const BW = process.env.BWLIMIT || '200M';
const SIZE = 500 * 2 ** 20;
const bwBytes = (r) => { const m = /^(\d+(?:\.\d+)?)([KMG]?)$/.exec(r); if (!m) throw new Error(`BWLIMIT=${r}: NNN[K|M|G]`); return m[1] * 1024 ** ' KMG'.indexOf(m[2] || ' '); };
const COPY_S = SIZE / bwBytes(BW); // the window a cancel may fall in
const CANCEL_AT = process.env.CANCEL_AT ? Number(process.env.CANCEL_AT) : null; // s after "running", instead of at random

const run = runDir('cancel');
const raw = rawLog('cancel');
const big = dataset('big');
const sources = {
  sparse: sparseFile(join(DATA, 'sparse-500M.bin'), SIZE),
  random: join(big, 'plate.bin'),
};
warm(big);
console.log(`machine at start: ${await machineState()}\n`);

const d = await benchDaemon(run);
const ws = d.ws();
const ev = collect(ws);
await opened(ws);
const http = rtClient(d.port, d.token);
await http.request('GET', '/api/health'); // the connection is open before the first timing

const res = {};
for (const k of Object.keys(sources)) res[k] = { post: [], kernel: [], event: [], worker: [], late: 0, partial: 0 };

for (let i = 0; i < 2 * RUNS; i++) {
  const kind = i % 2 ? 'random' : 'sparse';
  const r = res[kind];
  const dest = run.fresh(kind[0]);
  const job = (await d.api('POST', '/api/jobs', { sources: [sources[kind]], dest, bwlimit: BW })).json;
  await ev.waitFor((m) => m.type === 'job' && m.job.id === job.id && m.job.state === 'running');
  await sleep((CANCEL_AT ?? 0.05 + Math.random() * 0.85 * COPY_S) * 1000);

  const cancelled = ev.waitFor((m) => m.type === 'job' && m.job.id === job.id && ['cancelled', 'done', 'failed'].includes(m.job.state), 30000);
  const a = await http.request('POST', `/api/jobs/${job.id}/cancel`);
  const left = filesUnder(dest); // at once, before anything else
  if (!a.status) throw new Error(`run ${i}: POST cancel got no answer`);
  if (a.status !== 200 || a.json.state !== 'cancelled') {
    r.late++; // the copy ended first: not a cancel
    await cancelled;
    continue;
  }
  r.post.push(a.ms);
  if (a.kernelMs !== null) r.kernel.push(a.kernelMs);
  if (left.length) {
    r.partial++;
    console.error(`run ${i}: the cancel answer arrived while ${dest} held ${left.join(' ')}`);
  }
  const m = await cancelled;
  r.event.push(m._t - a.t0);
  const end = await ev.waitFor((x) => x.type === 'job' && x.job.id === job.id && x.job.cancel_latency_us !== null, 30000);
  r.worker.push(end.job.cancel_latency_us / 1000);
  raw({ i, kind, post_ms: a.ms, kernel_ms: a.kernelMs, event_ms: m._t - a.t0, worker_ms: end.job.cancel_latency_us / 1000, bytes_done: a.json.bytes_done });
  const after = filesUnder(dest);
  if (after.length) {
    r.partial++;
    console.error(`run ${i}: after the last worker stopped, ${dest} held ${after.join(' ')}`);
  }
}
http.close();
ws.close();
await d.stop();

console.log(`| 500 MiB copy, bwlimit ${BW}, cancelled at a random moment | n | p50 | p90 | p99 | max | unit |`);
console.log('|---|---|---|---|---|---|---|');
for (const [kind, r] of Object.entries(res)) {
  console.log(latencyRow(`${kind}: POST cancel -> answer received (client's kernel)`, r.kernel));
  console.log(latencyRow(`${kind}: POST cancel -> answer read (client)`, r.post));
  console.log(latencyRow(`${kind}: POST cancel -> WS "cancelled"`, r.event));
  console.log(latencyRow(`${kind}: cancel_latency_us (last worker stopped)`, r.worker));
}
console.log('');
for (const [kind, r] of Object.entries(res))
  console.log(`${kind}: ${r.post.length} cancels, ${r.late} runs ended before the cancel; ` +
    `destination holding a file or temp: ${r.partial} times.`);
console.log(`\nmachine at end: ${await machineState()}`);
await removeRun(run.dir);
if (Object.values(res).some((r) => r.partial)) process.exitCode = 1;
process.exit(); // collect()'s waitFor timers would hold the loop for minutes
