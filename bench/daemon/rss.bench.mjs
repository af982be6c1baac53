// bench/daemon/rss.bench.mjs DATA: the daemon's peak memory during a
// 100,000-file job (100 directories of 1,000 x 1 KiB), sampled every 100 ms.
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, collect, opened } from '../../tests/system/daemon_lib.mjs';

const DATA = process.argv[2] || '/var/tmp/ferry-bench';
const work = join(DATA, `rss-${Date.now()}`);
const tiny = join(DATA, 'tiny100k');
mkdirSync(work, { recursive: true });
try { readFileSync(join(tiny, 'd99', 'f999')); } catch {
  for (let dir = 0; dir < 100; dir++) {
    mkdirSync(join(tiny, `d${dir}`), { recursive: true });
    for (let i = 0; i < 1000; i++) writeFileSync(join(tiny, `d${dir}`, `f${i}`), 'x'.repeat(1024));
  }
}
const d = await startDaemon({ dir: work, root: DATA, state: join(work, 'state') });
const ws = d.ws();
const c = collect(ws);
await opened(ws);
ws.send(JSON.stringify({ type: 'subscribe', files: false }));
const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))[1]);
const before = kb('VmRSS');
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, kb('VmRSS')); }, 100);
const t0 = performance.now();
const job = (await d.api('POST', '/api/jobs', { sources: [tiny], dest: join(work, 'out'), fsync: false })).json;
await c.waitFor((m) => m.type === 'job' && m.job.id === job.id && m.job.state === 'done', 1200000);
clearInterval(sampler);
console.log('| 100,000 x 1 KiB job | before | VmRSS peak (every 100 ms) | VmHWM | job time |');
console.log('|---|---|---|---|---|');
console.log(`| daemon | ${(before / 1024).toFixed(1)} MiB | ${(peak / 1024).toFixed(1)} MiB | ${(kb('VmHWM') / 1024).toFixed(1)} MiB | ${((performance.now() - t0) / 1000).toFixed(1)} s |`);
ws.close();
await d.stop();
rmSync(work, { recursive: true, force: true });
