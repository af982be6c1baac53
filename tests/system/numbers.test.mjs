// The API's job object counts every file and only the bytes that moved:
// a re-run of identical files copies 0 bytes (skipped ones apart), and a
// full disk (a 5 MB tmpfs under the root) ends failed with its complete
// frames named, one file failed with the cause, the rest not attempted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { tempTree, startDaemon, writeRandom, cleanup, sleep } from './daemon_lib.mjs';

const t = tempTree();
const src = join(t.root, 'src');
mkdirSync(src);
for (let f = 1001; f <= 1048; f++) writeRandom(join(src, `f.${f}.exr`), 800000);
const small = join(t.root, 'small');
mkdirSync(small);
const root = process.getuid() === 0;
if (root) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=5m', 'tmpfs', small]);

const d = await startDaemon(t);
after(async () => {
  const code = await d.stop();
  if (root) execFileSync('umount', [small]);
  cleanup(t);
  assert.equal(code, 0, `ferry serve exited ${code}:\n${d.stderr().slice(-4000)}`);
});

async function run(body) {
  const r = await d.api('POST', '/api/jobs', body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  for (let i = 0; i < 1000; i++) {
    const j = (await d.api('GET', `/api/jobs/${r.json.id}`)).json;
    if (!['queued', 'running'].includes(j.state)) return j;
    await sleep(20);
  }
  throw new Error('job did not finish');
}

test('a re-run of identical files: 0 bytes copied, every byte skipped', async () => {
  const dest = join(t.root, 'out');
  const first = await run({ sources: [src], dest });
  assert.equal(first.state, 'done');
  assert.equal(first.bytes_copied, 48 * 800000);
  assert.equal(first.bytes_skipped, 0);
  const again = await run({ sources: [src], dest });
  assert.equal(again.state, 'done');
  assert.equal(again.files_done, 0);
  assert.equal(again.files_skipped, 48);
  assert.equal(again.bytes_copied, 0);
  assert.equal(again.bytes_skipped, 48 * 800000);
  assert.equal(again.bytes_done, 48 * 800000);
  assert.equal(again.rate_bps, 0);
  assert.equal(again.files_not_attempted, 0);
});

test('a full disk: complete frames named, one failed, the rest not attempted', { skip: !root && 'mounting a tmpfs needs root' }, async () => {
  const j = await run({ sources: [src], dest: small });
  const names = readdirSync(join(small, 'src'));
  for (const n of names) assert.deepEqual(readFileSync(join(small, 'src', n)), readFileSync(join(src, n)), n);
  assert.equal(j.state, 'failed');
  assert.match(j.error, /No space left on device/);
  assert.ok(names.length >= 4, `${names.length} frames kept`);
  assert.equal(j.files_done, names.length);
  assert.equal(j.files_failed, 1);
  assert.equal(j.files_not_attempted, 47 - names.length);
  assert.equal(j.files_done + j.files_skipped + j.files_failed + j.files_not_attempted, j.files_total);
  assert.equal(j.bytes_copied, names.length * 800000);
  let failed = [];
  for (let i = 0; i < 100 && failed.length === 0; i++, await sleep(20)) // results reach the journal in groups
    failed = (await d.api('GET', `/api/jobs/${j.id}/files?state=failed`)).json.files;
  assert.equal(failed.length, 1);
  assert.match(failed[0].error, /No space left on device/);
});
