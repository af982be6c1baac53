// The two endpoints behind the web UI's completion and paging, black-box:
// GET /api/fs (the roots, a directory beneath them, nothing outside) and
// GET /api/jobs/ID/files with offset and limit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempTree, startDaemon, writeRandom, cleanup, sleep } from './daemon_lib.mjs';

const t = tempTree();
const shot = join(t.root, 'sh010');
mkdirSync(join(shot, 'comp'), { recursive: true });
for (let f = 1001; f <= 1120; f++) writeFileSync(join(shot, `sh010.${f}.exr`), 'x'.repeat(f - 1000));
for (let f = 1; f <= 10; f++) if (f !== 5) writeFileSync(join(shot, `plate_v002.${f}.dpx`), 'p');
writeRandom(join(shot, 'notes.txt'), 10);
writeFileSync(join(shot, '<img src=x onerror=alert(1)>.exr'), 'y');
const outside = join(t.dir, 'outside');
mkdirSync(outside);
writeFileSync(join(outside, 'secret'), 'secret');
symlinkSync(outside, join(t.root, 'escape'));
symlinkSync('sh010/comp', join(t.root, 'inside-link')); // relative, stays inside

const d = await startDaemon(t);
after(async () => { await d.stop(); cleanup(t); });

const fs = (path) => d.api('GET', path === undefined ? '/api/fs' : `/api/fs?path=${encodeURIComponent(path)}`);

test('/api/fs needs the token', async () => {
  for (const auth of ['', 'Bearer wrong']) {
    const r = await d.api('GET', `/api/fs?path=${encodeURIComponent(t.root)}`, undefined, { Authorization: auth });
    assert.equal(r.status, 401, `auth '${auth}'`);
  }
});

test('/api/fs without a path lists the roots', async () => {
  const r = await fs();
  assert.equal(r.status, 200);
  assert.equal(r.json.path, null);
  assert.deepEqual(r.json.entries, [{ name: t.root, type: 'd' }]);
});

test('/api/fs lists a directory: directories first, then by name, sequences collapsed', async () => {
  const r = await fs(shot);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.path, shot);
  assert.equal(r.json.truncated, false);
  const names = r.json.entries.map((e) => e.name);
  assert.equal(names[0], 'comp');
  assert.equal(r.json.entries[0].type, 'd');
  // 120 + 9 frames are two entries; single files stay themselves.
  assert.deepEqual(names.slice(1), ['<img src=x onerror=alert(1)>.exr', 'notes.txt', 'plate_v002.@.dpx', 'sh010.####.exr']);
  const seq = r.json.entries.find((e) => e.name === 'sh010.####.exr');
  assert.deepEqual(seq, { name: 'sh010.####.exr', type: 's', frames: '1001-1120', count: 120, missing: '', size: (120 * 121) / 2 });
  const gap = r.json.entries.find((e) => e.name === 'plate_v002.@.dpx');
  assert.equal(gap.frames, '1-4,6-10');
  assert.equal(gap.missing, '5');
  assert.equal(gap.count, 9);
  const f = r.json.entries.find((e) => e.name === 'notes.txt');
  assert.equal(f.type, 'f');
  assert.equal(f.size, 10);
  assert.equal(typeof f.mtime, 'number');
  const root = await fs(t.root);
  const types = Object.fromEntries(root.json.entries.map((e) => [e.name, e.type]));
  assert.equal(types.escape, 'l');
  assert.equal(types['inside-link'], 'l');
});

test('/api/fs refuses everything outside the roots with 403, names the field', async () => {
  for (const p of ['/', '/etc', outside, join(t.root, '..'), join(t.root, 'escape'), join(t.root, 'sh010', '..', '..', 'outside')]) {
    const r = await fs(p);
    assert.equal(r.status, 403, `${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden');
    assert.match(r.json.error.message, /^path: /);
    assert.ok(!r.text.includes('secret'), p);
  }
  // A symlink that stays inside a root is fine.
  assert.equal((await fs(join(t.root, 'inside-link'))).status, 200);
});

test('/api/fs: relative, missing and non-directory paths are 400', async () => {
  for (const p of ['relative/dir', join(t.root, 'nope'), join(shot, 'notes.txt')]) {
    const r = await fs(p);
    assert.equal(r.status, 400, `${p}: ${r.text}`);
    assert.match(r.json.error.message, /^path: /);
  }
  assert.equal((await d.api('POST', '/api/fs', '{}')).status, 405);
});

test('files of a job: paged with offset and limit, in order, bad numbers refused', async () => {
  const j = (await d.api('POST', '/api/jobs', { sources: [shot], dest: join(t.root, 'out'), fsync: false })).json;
  let all;
  for (let i = 0; i < 100; i++) {
    all = await d.api('GET', `/api/jobs/${j.id}/files`);
    if (all.json.files.length === 131) break; // the journal takes results in groups
    await sleep(100);
  }
  assert.equal(all.json.files.length, 131);
  const pages = [];
  for (let off = 0; off < 131; off += 50) {
    const r = await d.api('GET', `/api/jobs/${j.id}/files?offset=${off}&limit=50`);
    assert.equal(r.status, 200);
    assert.equal(r.json.files.length, Math.min(50, 131 - off));
    pages.push(...r.json.files);
  }
  assert.deepEqual(pages.map((f) => f.path), all.json.files.map((f) => f.path));
  assert.equal((await d.api('GET', `/api/jobs/${j.id}/files?offset=500&limit=50`)).json.files.length, 0);
  assert.equal((await d.api('GET', `/api/jobs/${j.id}/files?state=failed&limit=10`)).json.files.length, 0);
  for (const q of ['offset=-1', 'limit=abc', 'offset=1x', 'limit=', 'offset=99999999999999999999999']) {
    const r = await d.api('GET', `/api/jobs/${j.id}/files?${q}`);
    assert.equal(r.status, 400, q);
    assert.match(r.json.error.message, new RegExp(`^${q.split('=')[0]}: `), q);
  }
});
