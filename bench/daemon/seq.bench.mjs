// bench/daemon/seq.bench.mjs [BASE]: the 781 x 800 KiB sequence through the
// daemon against the same copy by `ferry copy` (target: daemon <= 1.15x).
//
// Both durable (the default), both at 4 workers, each run into a fresh
// directory, sources in the page cache, `sync` and a pause before each run,
// ROUNDS rounds (default 7) whose order turns. The daemon run is timed from
// POST /api/jobs to the WebSocket `done` event of a client subscribed to
// everything (file events too); `ferry copy` from spawn to exit, its journal
// in the run directory.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { collect, opened, FERRY } from '../../tests/system/daemon_lib.mjs';
import { PAUSE_MS, benchDaemon, dataset, checkSpace, machineState, median, rawLog, removeRun, runDir, sleep, warm } from './lib.mjs';

const ROUNDS = Number(process.env.ROUNDS || 7);
const seq = dataset('seq');
checkSpace(ROUNDS * 2 * 0.7 + 2);
const run = runDir('seq');
const raw = rawLog('seq');
warm(seq);
console.log(`machine at start: ${await machineState()}\n`);

const d = await benchDaemon(run);
const ws = d.ws();
const ev = collect(ws);
await opened(ws);

async function viaDaemon() {
  const t0 = performance.now();
  const r = await d.api('POST', '/api/jobs', { sources: [seq], dest: run.fresh('daemon') });
  if (r.status !== 201) throw new Error(`POST /api/jobs: ${r.status} ${r.text}`);
  const m = await ev.waitFor((x) => x.type === 'job' && x.job.id === r.json.id && ['done', 'failed', 'cancelled'].includes(x.job.state), 600000);
  if (m.job.state !== 'done' || m.job.files_done !== 781) throw new Error(`job ${m.job.state}, ${m.job.files_done} files`);
  return (m._t - t0) / 1000;
}

function viaCli() {
  const t0 = performance.now();
  // DEST does not exist: the sequence is copied to that name (as cp -r does),
  // the same files as the daemon's copy into its destination directory.
  const p = spawn(FERRY, ['copy', '-q', seq, run.fresh('cli')], {
    env: { ...process.env, XDG_STATE_HOME: join(run.dir, 'clistate') }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) => p.on('exit', (code) => {
    if (code !== 0) reject(new Error(`ferry copy exited ${code}`));
    else resolve((performance.now() - t0) / 1000);
  }));
}

const t = { daemon: [], cli: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const side of r % 2 ? ['cli', 'daemon'] : ['daemon', 'cli']) {
    spawnSync('sync');
    await sleep(PAUSE_MS);
    t[side].push(await (side === 'daemon' ? viaDaemon() : viaCli()));
    raw({ round: r, side, s: t[side].at(-1) });
  }
}
ws.close();
await d.stop();

const ratios = t.daemon.map((x, i) => x / t.cli[i]);
console.log(`| 781 x 800 KiB, durable, ${ROUNDS} rounds | median s | min s | max s | ratio of medians | median of per-round ratios |`);
console.log('|---|---|---|---|---|---|');
console.log(`| ferry copy | ${median(t.cli).toFixed(3)} | ${Math.min(...t.cli).toFixed(3)} | ${Math.max(...t.cli).toFixed(3)} | 1.00x | |`);
console.log(`| through the daemon (POST -> WS "done") | ${median(t.daemon).toFixed(3)} | ${Math.min(...t.daemon).toFixed(3)} | ` +
  `${Math.max(...t.daemon).toFixed(3)} | **${(median(t.daemon) / median(t.cli)).toFixed(2)}x** | ${median(ratios).toFixed(2)}x |`);
console.log(`\nper round (daemon / cli, s): ${t.daemon.map((x, i) => `${x.toFixed(2)}/${t.cli[i].toFixed(2)}`).join(' ')}`);
console.log(`\nmachine at end: ${await machineState()}`);
await removeRun(run.dir);
process.exit(); // collect()'s waitFor timers would hold the loop for minutes
