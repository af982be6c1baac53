// Sequences through the daemon, black-box: POST /api/jobs with a pattern and
// its options (frames, renumber, pad, require_complete, check_exr), the job
// object's `sequences` summary live and at the end, the roots checked on a
// pattern's directory, and bad options refused with the field named.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync, readFileSync, statSync, truncateSync, symlinkSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempTree, startDaemon, cleanup, sleep } from './daemon_lib.mjs';

const t = tempTree();
const shot = join(t.root, 'sh010');
mkdirSync(shot);
for (let f = 1001; f <= 1030; f++) if (f !== 1012 && f !== 1013) writeFileSync(join(shot, `comp.${f}.exr`), `frame ${f}`);
const exr = join(t.root, 'sh020');
mkdirSync(exr);
execFileSync(process.env.FERRY_MKEXR, [join(exr, 'beauty.####.exr'), '1-5']);
truncateSync(join(exr, 'beauty.0004.exr'), statSync(join(exr, 'beauty.0004.exr')).size - 50);
const outside = join(t.dir, 'outside');
mkdirSync(outside);
writeFileSync(join(outside, 'secret.0001.exr'), 'secret');
symlinkSync(outside, join(t.root, 'escape'));

const d = await startDaemon(t);
after(async () => { await d.stop(); cleanup(t); });

async function finished(id) {
  for (let i = 0; i < 200; i++) {
    const r = await d.api('GET', `/api/jobs/${id}`);
    if (!['queued', 'running'].includes(r.json.state)) return r.json;
    await sleep(50);
  }
  throw new Error(`job ${id} did not end`);
}

test('a pattern with frames, renumber and pad: the frames land renamed; the summary tells what became of each', async () => {
  const dest = join(t.root, 'out1');
  const r = await d.api('POST', '/api/jobs', { sources: [join(shot, 'comp.####.exr')], dest, frames: '1008-1016', renumber: 1, pad: 3, fsync: false });
  assert.equal(r.status, 201, r.text);
  assert.ok(Array.isArray(r.json.sequences), 'sequences is always an array');
  const job = await finished(r.json.id);
  assert.equal(job.state, 'done', JSON.stringify(job));
  assert.deepEqual(job.sequences, [{
    source: join(shot, 'comp.####.exr'), dest: join(dest, 'comp.###.exr'),
    frames: '1008-1011,1014-1016', frames_count: 7, missing: '1012-1013', missing_count: 2,
    done: '1008-1011,1014-1016', done_count: 7, skipped: '', skipped_count: 0, failed: '', failed_count: 0,
  }]);
  assert.deepEqual(readdirSync(dest).sort(), ['comp.001.exr', 'comp.002.exr', 'comp.003.exr', 'comp.004.exr', 'comp.007.exr', 'comp.008.exr', 'comp.009.exr']);
  assert.equal(readFileSync(join(dest, 'comp.007.exr'), 'utf8'), 'frame 1014');
  const list = await d.api('GET', '/api/jobs');
  assert.deepEqual(list.json.jobs.find((j) => j.id === job.id).sequences, job.sequences, 'the list carries it too');
});

test('renumber numbers a stepped selection 1, 2, 3; keep_step shifts it', async () => {
  const dest = join(t.root, 'out1b');
  const r = await d.api('POST', '/api/jobs', { sources: [join(shot, 'comp.####.exr')], dest, frames: '1001-1009x2', renumber: 1, pad: 3, fsync: false });
  assert.equal(r.status, 201, r.text);
  assert.equal((await finished(r.json.id)).state, 'done');
  assert.deepEqual(readdirSync(dest).sort(), ['comp.001.exr', 'comp.002.exr', 'comp.003.exr', 'comp.004.exr', 'comp.005.exr']);
  assert.equal(readFileSync(join(dest, 'comp.004.exr'), 'utf8'), 'frame 1007');
  const dest2 = join(t.root, 'out1c');
  const k = await d.api('POST', '/api/jobs', { sources: [join(shot, 'comp.####.exr')], dest: dest2, frames: '1001-1009x2', renumber: 1, keep_step: true, pad: 3, fsync: false });
  assert.equal(k.status, 201, k.text);
  assert.equal((await finished(k.json.id)).state, 'done');
  assert.deepEqual(readdirSync(dest2).sort(), ['comp.001.exr', 'comp.003.exr', 'comp.005.exr', 'comp.007.exr', 'comp.009.exr']);
});

test('every frame on disk: the gap is missing; WebSocket pushes carry the summary', async () => {
  const ws = d.ws();
  const msgs = [];
  ws.onmessage = (ev) => msgs.push(JSON.parse(ev.data));
  await new Promise((r) => { ws.onopen = r; });
  const r = await d.api('POST', '/api/jobs', { sources: [join(shot, 'comp.@.exr')], dest: join(t.root, 'out2'), fsync: false });
  assert.equal(r.status, 201, r.text);
  const job = await finished(r.json.id);
  assert.equal(job.sequences[0].frames, '1001-1011,1014-1030');
  assert.equal(job.sequences[0].missing, '1012-1013');
  assert.equal(job.sequences[0].done_count, 28);
  for (let i = 0; i < 100 && !msgs.some((m) => m.type === 'job' && m.job.id === job.id && m.job.state === 'done'); i++) await sleep(20);
  const last = msgs.filter((m) => m.type === 'job' && m.job.id === job.id).pop();
  assert.equal(last.job.sequences[0].done_count, 28, JSON.stringify(last));
  ws.close();
});

test('require_complete: 400 naming the missing frames, and nothing copied', async () => {
  const dest = join(t.root, 'out3');
  const r = await d.api('POST', '/api/jobs', { sources: [join(shot, 'comp.####.exr')], dest, frames: '1010-1014', require_complete: true });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /2 frames missing: 1012-1013 \(--require-complete\)/);
  assert.equal(existsSync(dest), false, 'a refused request creates nothing');
});

test('check_exr: the truncated frame fails with its cause, the sound ones land', async () => {
  const dest = join(t.root, 'out4');
  const r = await d.api('POST', '/api/jobs', { sources: [join(exr, 'beauty.####.exr')], dest, check_exr: true, fsync: false });
  assert.equal(r.status, 201, r.text);
  const job = await finished(r.json.id);
  assert.equal(job.state, 'failed');
  assert.equal(job.sequences[0].failed, '4');
  assert.equal(job.sequences[0].done, '1-3,5');
  assert.deepEqual(readdirSync(dest).sort(), ['beauty.0001.exr', 'beauty.0002.exr', 'beauty.0003.exr', 'beauty.0005.exr']);
  let files;
  for (let i = 0; i < 50; i++) { // results reach the journal in groups
    files = (await d.api('GET', `/api/jobs/${job.id}/files?state=failed`)).json.files;
    if (files.length) break;
    await sleep(100);
  }
  assert.equal(files.length, 1);
  assert.match(files[0].error, /EXR check of '.*beauty\.0004\.exr': truncated/);
});

test('the roots are checked on the pattern\'s directory; bad options name their field', async () => {
  const bad = [
    [{ sources: [join(t.root, 'escape', 'secret.####.exr')] }, 403, /^sources\[0\]: .*outside the allowed roots/],
    [{ sources: ['/etc/passwd.####'] }, 403, /^sources\[0\]: /],
    [{ sources: [join(t.root, 'nope', 'comp.####.exr')] }, 400, /^sources\[0\]: .*does not exist/],
    [{ sources: [join(shot, 'comp.####.exr')], frames: '10-x' }, 400, /^frames: /],
    [{ sources: [join(shot, 'comp.####.exr')], frames: 1001 }, 400, /^frames: /],
    [{ sources: [join(shot, 'comp.####.exr')], pad: 0 }, 400, /^pad: /],
    [{ sources: [join(shot, 'comp.####.exr')], pad: '4' }, 400, /^pad: /],
    [{ sources: [join(shot, 'comp.####.exr')], renumber: 1.5 }, 400, /^renumber: /],
    [{ sources: [join(shot, 'comp.####.exr')], require_complete: 'yes' }, 400, /^require_complete: /],
    [{ sources: [join(shot, 'comp.####.exr')], check_exr: 1 }, 400, /^check_exr: /],
    [{ sources: [join(shot, 'comp.####.exr')], renumber: 1, keep_step: 'yes' }, 400, /^keep_step: /],
    [{ sources: [join(shot, 'comp.####.exr')], keep_step: true }, 400, /--keep-step applies with --renumber/],
    [{ sources: [join(shot, 'comp.1001.exr')], frames: '1-5' }, 400, /--frames applies to sequence sources/],
  ];
  for (const [body, status, re] of bad) {
    const r = await d.api('POST', '/api/jobs', { dest: join(t.root, 'out5'), ...body });
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.json.error.message, re, JSON.stringify(body));
  }
  assert.deepEqual(readdirSync(outside), ['secret.0001.exr']);
});

test('ferry submit passes the sequence options to the daemon', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = (...args) => spawnSync(process.env.FERRY, args, { env: { ...process.env, FERRY_TOKEN: d.token }, encoding: 'utf8' });
  const dest = join(t.root, 'out6');
  const sub = run('submit', '--state-dir', t.state, '--frames', '1001-1003', '--renumber', '7', '--pad', '2', '--no-fsync', join(shot, 'comp.####.exr'), dest);
  assert.equal(sub.status, 0, sub.stderr);
  const job = await finished(sub.stdout.trim());
  assert.equal(job.state, 'done');
  assert.deepEqual(readdirSync(dest).sort(), ['comp.07.exr', 'comp.08.exr', 'comp.09.exr']);
  const bad = run('submit', '--state-dir', t.state, '--frames', 'x', join(shot, 'comp.####.exr'), dest);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--frames: /);
  const complete = run('submit', '--state-dir', t.state, '--require-complete', join(shot, 'comp.####.exr'), dest);
  assert.equal(complete.status, 1);
  assert.match(complete.stderr, /2 frames missing: 1012-1013/);
  assert.equal(run('submit', '--pad', '0', join(shot, 'comp.####.exr'), dest).status, 2);
});
