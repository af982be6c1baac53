// bench/daemon/rss.bench.mjs [BASE]: the daemon's memory during a 100,000-file
// job (100 directories of 1,000 x 1 KiB; target <= 64 MiB), against the same
// files in jobs of 1,000 (one directory) and 10,000 (ten): if memory is flat,
// the three peaks are within a few MiB of each other and of the idle daemon.
//
// Each size gets a fresh daemon (so that VmHWM is that size's peak) and one
// WebSocket client that takes no file events (as the web UI); /proc/PID/status
// is sampled every 100 ms (VmRSS, RssAnon; VmHWM catches what falls between
// samples). Each daemon runs its job JOBS times (default 2) one after the
// other, durable, into fresh directories: what the second adds is what a
// finished job keeps. The sizes (SIZES) run in turn, largest last.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { collect, opened } from '../../tests/system/daemon_lib.mjs';
import {
  DATA, PAUSE_MS, benchDaemon, checkSpace, machineState, procStatus, rawLog, removeRun, runDir, sleep, warm,
} from './lib.mjs';

const JOBS = Number(process.env.JOBS || 2);
const tiny = join(DATA, 'tiny100k');
const dirName = (n) => `d${String(n).padStart(2, '0')}`;
if (!existsSync(tiny)) {
  const tmp = tiny + '.tmp';
  const one = Buffer.alloc(1024, 'x');
  for (let dir = 0; dir < 100; dir++) {
    mkdirSync(join(tmp, dirName(dir)), { recursive: true });
    for (let i = 0; i < 1000; i++) writeFileSync(join(tmp, dirName(dir), `f${String(i).padStart(4, '0')}`), one);
  }
  renameSync(tmp, tiny);
  spawnSync('sync');
}
// SIZES (default 1000,10000,100000): whole directories of tiny100k.
const SIZES = (process.env.SIZES || '1000,10000,100000').split(',').map(Number);
const sizes = SIZES.map((files) => {
  if (files === 100000) return { files, sources: [tiny] };
  if (files % 1000 || files < 1000 || files > 99000) throw new Error(`SIZES: ${files} is not 1,000 to 99,000 in thousands, or 100,000`);
  return { files, sources: Array.from({ length: files / 1000 }, (_, i) => join(tiny, dirName(i))) };
});
checkSpace(JOBS * 0.6 + 1);
const run = runDir('rss');
const raw = rawLog('rss');
warm(tiny);
console.log(`machine at start: ${await machineState()}\n`);

const mib = (kib) => (kib / 1024).toFixed(1);
const rows = [];
for (const size of sizes) {
  const d = await benchDaemon(run, [], `state-${size.files}`);
  const ws = d.ws();
  const ev = collect(ws);
  await opened(ws);
  ws.send(JSON.stringify({ type: 'subscribe', files: false }));
  await sleep(500);
  const idle = procStatus(d.proc.pid);
  for (let j = 0; j < JOBS; j++) {
    spawnSync('sync');
    await sleep(PAUSE_MS);
    const before = procStatus(d.proc.pid);
    const peak = { VmRSS: 0, RssAnon: 0, at: 0 };
    const t0 = performance.now();
    const sample = () => {
      const s = procStatus(d.proc.pid);
      if (s.VmRSS > peak.VmRSS) Object.assign(peak, { VmRSS: s.VmRSS, at: (performance.now() - t0) / 1000 });
      peak.RssAnon = Math.max(peak.RssAnon, s.RssAnon);
    };
    const sampler = setInterval(sample, 100);
    const r = await d.api('POST', '/api/jobs', { sources: size.sources, dest: run.fresh('out') });
    if (r.status !== 201) throw new Error(`POST /api/jobs: ${r.status} ${r.text}`);
    const m = await ev.waitFor((x) => x.type === 'job' && x.job.id === r.json.id && ['done', 'failed', 'cancelled'].includes(x.job.state), 1200000);
    const secs = (m._t - t0) / 1000;
    await sleep(2000);
    clearInterval(sampler);
    sample();
    const after = procStatus(d.proc.pid);
    if (m.job.state !== 'done' || m.job.files_done !== size.files) throw new Error(`job ${m.job.state}, ${m.job.files_done} of ${size.files} files`);
    raw({ files: size.files, job: j + 1, idle, before, peak, after, s: secs });
    rows.push(`| ${size.files.toLocaleString('en-US')} | ${j + 1} | ${mib(idle.VmRSS)} | ${mib(before.VmRSS)} | ` +
      `${mib(peak.VmRSS)} (at ${peak.at.toFixed(1)} s) | ${mib(peak.RssAnon)} | ${mib(after.VmHWM)} | ${mib(after.VmRSS)} / ${mib(after.RssAnon)} | ${secs.toFixed(1)} s |`);
  }
  ws.close();
  await d.stop();
}

console.log('| files x 1 KiB, durable | job in this daemon | VmRSS idle | VmRSS before | VmRSS peak (every 100 ms) | RssAnon peak | VmHWM | VmRSS / RssAnon 2 s after "done" | job time |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\n(MiB; a fresh daemon per size.)');
console.log(`\nmachine at end: ${await machineState()}`);
await removeRun(run.dir);
process.exit(); // collect()'s waitFor timers would hold the loop for minutes
