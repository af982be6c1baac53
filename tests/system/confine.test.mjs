// Path confinement, black-box: every way out of the root we could think of,
// against a real `ferry serve`, with two sentinel directories beside the root:
// `outside` (files that must not be read: their access times are set to 2000
// and checked) and `sink` (must stay empty and untouched). Requests with paths
// that lead out (.., absolute, symlinks as source, destination and destination
// parent, dangling symlinks, loops, a sibling sharing the root's name, /proc,
// sequence patterns), names at the limits (255 bytes, PATH_MAX, not UTF-8,
// newlines), and directories swapped for symlinks while a slowed job copies
// into and out of them. Each attempt counts as an escape tried; the test
// prints the count and fails on any escape.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdirSync, writeFileSync, symlinkSync, readdirSync, statSync, lstatSync, utimesSync, readFileSync,
  renameSync, existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempTree, startDaemon, writeRandom, sleep } from './daemon_lib.mjs';

const t = tempTree();
const R = t.root;
const OUT = join(t.dir, 'outside');
const SINK = join(t.dir, 'sink');
const MARK = 'FERRY-SENTINEL-OUTSIDE';
const old = new Date('2000-01-01T00:00:00Z');

mkdirSync(join(R, 'src'));
writeRandom(join(R, 'src', 'small.bin'), 1000);
// Outside: files to lure reads, and a tree shaped like the swapped jobs' own
// (mirror/tree/{a,b,c,d}/f.N). Sink: files and the same tree, to lure writes.
// Their paths are listed here once: the checks stat them and never list the
// directories (a listing would touch their access times).
mkdirSync(OUT);
const outPaths = [OUT];
const sinkKeep = [];
const mk = (list, p, content) => {
  if (content === undefined) mkdirSync(p); else writeFileSync(p, content);
  list.push(p);
};
mk(outPaths, join(OUT, 'secret'), `${MARK} secret\n`);
for (let f = 1001; f <= 1003; f++) mk(outPaths, join(OUT, `seq.${f}.exr`), `${MARK} frame ${f}\n`);
mkdirSync(SINK);
for (const [list, top] of [[outPaths, OUT], [sinkKeep, SINK]]) {
  for (const p of ['lure', 'mirror', 'mirror/tree']) mk(list, join(top, p));
  for (let f = 1; f <= 8; f++) mk(list, join(top, 'lure', `f.${f}`), `${MARK} lure ${f}\n`);
  for (const sub of ['a', 'b', 'c', 'd']) {
    mk(list, join(top, 'mirror', 'tree', sub));
    for (let f = 1; f <= 8; f++) mk(list, join(top, 'mirror', 'tree', sub, `f.${f}`), `${MARK} mirror ${f}\n`);
  }
}
symlinkSync(OUT, join(R, 'link-out'));
symlinkSync('../outside', join(R, 'link-out-rel'));
symlinkSync(join(OUT, 'secret'), join(R, 'file-link-out'));
symlinkSync(SINK, join(R, 'link-sink'));
symlinkSync(join(SINK, 'nothing'), join(R, 'dangling-out'));
symlinkSync('loop', join(R, 'loop'));
mkdirSync(`${R}-evil`);
writeFileSync(join(`${R}-evil`, 'file'), MARK);

// Every name under dir, not following symlinks.
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(p);
    if (lstatSync(p).isDirectory()) out.push(...walk(p));
  }
  return out;
}

// The sentinels' state: mode, mtime, size (and outside, access time) of each
// known path; the sink's listing (anything new in it).
function sentinels() {
  const s = {};
  for (const p of outPaths) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    s[p] = st ? `${st.mode} ${st.mtimeMs} ${st.size} atime ${st.atimeMs}` : 'gone';
  }
  for (const p of [SINK, ...walk(SINK)]) {
    const st = lstatSync(p);
    s[p] = `${st.mode} ${st.mtimeMs} ${st.size}`;
  }
  for (const p of sinkKeep) if (!(p in s)) s[p] = 'gone';
  return s;
}
function ageOutside() {
  for (const p of outPaths) utimesSync(p, old, statSync(p).mtime);
}
// Does this filesystem record reads in access times (relatime, not noatime)?
function atimeWorks() {
  const p = join(t.dir, 'atime-probe');
  writeFileSync(p, 'x');
  utimesSync(p, old, new Date());
  readFileSync(p);
  return statSync(p).atimeMs !== old.getTime();
}

let d;
let baseline;
let readsSeen;
const escapes = [];
let tried = 0;
before(async () => {
  d = await startDaemon(t);
  readsSeen = atimeWorks();
  ageOutside();
  baseline = sentinels();
});
after(async () => {
  await d.stop();
  spawnSync('rm', ['-rf', t.dir]); // names deeper than PATH_MAX: rm works beneath directories
});

// An escape is any change to the sentinels, or an outside path accepted.
function checkSentinels(what) {
  const now = sentinels();
  const changed = Object.keys({ ...baseline, ...now }).filter((k) => baseline[k] !== now[k]);
  if (changed.length) {
    const some = changed.slice(0, 3).map((k) => `${k} (${baseline[k]} -> ${now[k]})`);
    escapes.push(`${what}: ${changed.length} changed outside: ${some.join(', ')}`);
  }
  baseline = now;
}
function grepMarker(dir) {
  return walk(dir).filter((p) => lstatSync(p).isFile() && readFileSync(p).includes(MARK));
}
async function waitEnd(id, ms = 30000) {
  const end = performance.now() + ms;
  let j;
  while (performance.now() < end) {
    j = (await d.api('GET', `/api/jobs/${id}`)).json;
    if (!['queued', 'running'].includes(j.state)) return j;
    await sleep(50);
  }
  return j;
}

const outsidePaths = () => [
  `${R}/../outside/secret`, `${R}/../outside`, `${R}/src/../../outside`, `${R}/./../outside`,
  `${R}//../outside`, `${R}/src/./../../outside/secret`, '/etc/passwd', '/', OUT, join(OUT, 'secret'),
  join(SINK, 'x'), `/proc/self/root${OUT}`, `/proc/self/cwd/../outside`, `/proc/${process.pid}/root${OUT}`,
  join(R, 'link-out'), join(R, 'link-out', 'secret'), join(R, 'link-out-rel', 'secret'),
  join(R, 'file-link-out'), join(R, 'link-sink'), join(R, 'link-sink', 'new'),
  join(R, 'link-sink', 'new', 'deeper'), join(R, 'dangling-out'), join(R, 'dangling-out', 'x'),
  join(R, 'loop'), join(R, 'loop', 'x'), `${R}/new/../../outside/x`, `${R}/new/../../../etc`,
  `${R}-evil/file`, `${R}-evil`, `${R}/src/small.bin/..`, `${R}/src/small.bin/../../../outside`,
  join(R, 'link-out', 'seq.####.exr'), `${R}/../outside/seq.####.exr`, `${R}/../outside/seq.%04d.exr`,
  join(R, 'link-out-rel', 'seq.1001-1003#.exr'),
  `${R}/${'x'.repeat(256)}`, `${R}/${'d/'.repeat(2100)}x`, `${R}/src/..\n/../../outside`,
];

test('requests naming paths outside the root are refused; nothing outside is read or written', async () => {
  const inside = join(R, 'src', 'small.bin');
  for (const p of outsidePaths()) {
    for (const [role, body] of [['source', { sources: [p], dest: join(R, 'out-a') }],
      ['dest', { sources: [inside], dest: p }]]) {
      tried++;
      const r = await d.api('POST', '/api/jobs', body);
      if (r.status === 201) {
        escapes.push(`${role} ${p}: accepted (${r.json.id})`);
        await waitEnd(r.json.id);
      } else {
        assert.ok([400, 403].includes(r.status), `${role} ${p}: ${r.status} ${r.text}`);
      }
    }
    tried++;
    const l = await d.api('GET', `/api/fs?path=${encodeURIComponent(p)}`);
    if (l.status === 200) escapes.push(`GET /api/fs ${p}: listed`);
  }
  // The same paths spelled with JSON escapes, and with a NUL that would cut them.
  for (const raw of [`{"sources":["${R}/\\u002e\\u002e/outside/secret"],"dest":"${R}/out-b"}`,
    `{"sources":["${R}/src"],"dest":"${R}/\\u002e\\u002e/sink/x"}`,
    `{"sources":["${R}/src\\u0000/../../outside"],"dest":"${R}/out-b"}`,
    `{"sources":["${R}/src"],"dest":"${R}/out-b\\u0000/../../sink"}`,
    `{"sources":["${R}/\\u002e\\u002e\\u002foutside"],"dest":"${R}/out-b"}`]) {
    tried++;
    const r = await d.api('POST', '/api/jobs', raw);
    if (r.status === 201) escapes.push(`${raw}: accepted`);
  }
  await sleep(300);
  checkSentinels('requests');
  assert.deepEqual(readdirSync(SINK).sort(), ['lure', 'mirror']);
  assert.deepEqual(grepMarker(R), []);
});

test('names at the limits: 255 bytes, near PATH_MAX, not UTF-8, newlines; all stay inside', async () => {
  const lim = join(R, 'limits');
  mkdirSync(lim);
  const n255 = 'n'.repeat(255);
  writeFileSync(join(lim, n255), 'long name');
  writeFileSync(join(lim, 'new\nline'), 'newline');
  writeFileSync(join(lim, '..\n'), 'dots and newline');
  writeFileSync(join(lim, '...'), 'three dots');
  writeFileSync(join(lim, 'a&b;c=d?e#f%2e+g'), 'query characters');
  writeFileSync(Buffer.concat([Buffer.from(`${lim}/`), Buffer.from([0xff, 0xfe, 0x2e, 0x2e])]), 'not utf-8');
  // Directories as deep as PATH_MAX allows beneath the root: the copy's own
  // absolute names grow past it; whatever happens to them stays inside.
  let deep = join(lim, 'deep');
  while (deep.length + 251 < 4080) deep = join(deep, 'p'.repeat(250));
  deep = join(deep, 'p'.repeat(4085 - deep.length));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'b'), 'deep'); // 4087 bytes here, 4098 at the destination
  tried++;
  const r = await d.api('POST', '/api/jobs', { sources: [lim], dest: join(R, 'out-limits') });
  assert.equal(r.status, 201, r.text);
  const j = await waitEnd(r.json.id);
  const dst = join(R, 'out-limits', 'limits');
  for (const name of [n255, 'new\nline', '..\n', '...', 'a&b;c=d?e#f%2e+g']) {
    assert.equal(readFileSync(join(dst, name), 'utf8').length > 0, true, JSON.stringify(name));
  }
  assert.ok(readdirSync(dst, { encoding: 'buffer' }).some((b) => b[0] === 0xff), 'the non-UTF-8 name was copied');
  console.log(`# limits job: ${j.state}, ${j.files_done} done, ${j.files_failed} failed (${j.error ?? 'no error'})`);
  // Beyond PATH_MAX as an absolute path, the deep file is still within it
  // relative to the root, which is how a confined job names it: copied.
  assert.ok(['done', 'failed'].includes(j.state));
  // Named through the API: newline and query characters work; 255 bytes too; 256 do not.
  for (const name of ['new\nline', 'a&b;c=d?e#f%2e+g', n255]) {
    tried++;
    const one = await d.api('POST', '/api/jobs', { sources: [join(lim, name)], dest: join(R, 'out-one') });
    assert.equal(one.status, 201, `${JSON.stringify(name)}: ${one.text}`);
    await waitEnd(one.json.id);
    const l = await d.api('GET', `/api/fs?path=${encodeURIComponent(lim)}`);
    assert.ok(l.json.entries.some((e) => e.name === name), `listed: ${JSON.stringify(name)}`);
  }
  tried++;
  assert.notEqual((await d.api('POST', '/api/jobs', { sources: [join(lim, `${n255}x`)], dest: join(R, 'out-one') })).status, 201);
  await sleep(300);
  checkSentinels('limits');
});

// A job slowed down to ~4 s; once its directories exist, swap runs on what
// is left. Returns the ended job.
async function swapMidJob(name, { onConflict, swap }) {
  const src = join(R, `${name}-src`);
  const dst = join(R, `${name}-dst`);
  for (const sub of ['a', 'b', 'c', 'd']) {
    mkdirSync(join(src, 'tree', sub), { recursive: true });
    for (let f = 1; f <= 8; f++) writeRandom(join(src, 'tree', sub, `f.${f}`), 128 * 1024);
  }
  const body = { sources: [join(src, 'tree')], dest: dst, bwlimit: '1M', fsync: false };
  if (onConflict) body.on_conflict = onConflict;
  const r = await d.api('POST', '/api/jobs', body);
  assert.equal(r.status, 201, r.text);
  const end = performance.now() + 5000;
  while (!existsSync(join(dst, 'tree', 'd')) && performance.now() < end) await sleep(2);
  swap(src, dst);
  const j = await waitEnd(r.json.id);
  await sleep(200);
  return j;
}

test('directories swapped for symlinks out while a job copies: nothing read or written outside', async () => {
  ageOutside();
  baseline = sentinels();
  const swapDir = (dir, target) => { renameSync(dir, `${dir}.moved`); symlinkSync(target, dir); };
  const cases = [
    ['dest subdirectory -> sink', {}, (src, dst) => swapDir(join(dst, 'tree', 'b'), SINK)],
    ['dest subdirectory -> sink files, overwrite', { onConflict: 'overwrite' },
      (src, dst) => swapDir(join(dst, 'tree', 'c'), join(SINK, 'lure'))],
    ['dest top -> sink tree of the same shape', {}, (src, dst) => swapDir(dst, join(SINK, 'mirror'))],
    ['dest subdirectory -> relative ../../../sink', {}, (src, dst) => swapDir(join(dst, 'tree', 'd'), '../../../sink')],
    ['source subdirectory -> outside files of the same names', {}, (src) => swapDir(join(src, 'tree', 'c'), join(OUT, 'lure'))],
    ['source top -> outside tree of the same shape', {}, (src) => swapDir(join(src, 'tree'), join(OUT, 'mirror', 'tree'))],
    ['source file -> symlink out', {}, (src) => {
      renameSync(join(src, 'tree', 'd', 'f.8'), join(src, 'tree', 'd', 'f.8.moved'));
      symlinkSync(join(OUT, 'secret'), join(src, 'tree', 'd', 'f.8'));
    }],
  ];
  const seen = [];
  for (const [i, [what, opts, swap]] of cases.entries()) {
    tried++;
    const j = await swapMidJob(`swap${i}`, { onConflict: opts.onConflict, swap });
    const failed = (await d.api('GET', `/api/jobs/${j.id}/files?state=failed&limit=1`)).json.files;
    seen.push(`${what}: ${j.state}, ${j.files_done} done, ${j.files_failed} failed` +
      (failed.length ? ` ("${failed[0].error.replace(R, 'ROOT')}")` : ''));
    checkSentinels(what);
    const dst = join(R, `swap${i}-dst`);
    const leaked = [dst, `${dst}.moved`].filter((p) => existsSync(p) && !lstatSync(p).isSymbolicLink())
      .flatMap(grepMarker);
    if (leaked.length) escapes.push(`${what}: outside content copied into ${leaked.length} files (${leaked[0]}...)`);
  }
  console.log(`# swaps mid-job:\n#   ${seen.join('\n#   ')}`);
  assert.deepEqual(readdirSync(SINK).sort(), ['lure', 'mirror']);
});

test('escapes tried: 0 escapes', () => {
  console.log(`# confinement: ${tried} escapes tried, ${escapes.length} escapes` +
    `${readsSeen ? '' : ' (this filesystem keeps no access times: reads outside were not checked)'}`);
  assert.deepEqual(escapes, []);
});
