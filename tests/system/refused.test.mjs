// A refused POST /api/jobs changes nothing on disk: for every 4xx it can
// answer (the gates and framing of http.c, the routing of api.c, every field
// of request.c, and what the job's placement refuses: a directory into
// itself, a destination that is a file, sequence options without a sequence),
// the tree under the root (and outside it) before and after is identical:
// names, types, modes, sizes and mtimes, directories included. A destination
// with a trailing slash is accepted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync, lstatSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { tempTree, startDaemon, writeRandom, cleanup, sleep } from './daemon_lib.mjs';

const t = tempTree();
const shots = join(t.root, 'shots', 'sh010');
const comp = join(shots, 'comp');
mkdirSync(comp, { recursive: true });
for (let f = 1001; f <= 1005; f++) writeRandom(join(comp, `comp.${f}.exr`), 20000);
writeFileSync(join(shots, 'notes.txt'), 'notes');
mkdirSync(join(t.root, 'server'));
const outside = join(t.dir, 'outside');
mkdirSync(outside);
symlinkSync(outside, join(t.root, 'escape'));

const d = await startDaemon(t);
after(async () => {
  const code = await d.stop();
  cleanup(t);
  assert.equal(code, 0, `ferry serve exited ${code}:\n${d.stderr().slice(-4000)}`);
});

// Every entry under dir (dir included): path, type and mode, size, mtime in ns.
function snapshot(dir) {
  const out = [];
  const walk = (p) => {
    const st = lstatSync(p, { bigint: true });
    out.push(`${p.slice(t.dir.length)} ${st.mode.toString(8)} ${st.size} ${st.mtimeNs}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
  };
  walk(dir);
  return out.join('\n');
}
const tree = () => snapshot(t.root) + '\n' + snapshot(outside);

// One raw HTTP request (headers as given, no fixing up); resolves with the status.
function raw(text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(d.port, '127.0.0.1', () => s.write(text));
    let buf = '';
    s.on('data', (c) => { buf += c; if (/^HTTP\/1\.1 \d+/.test(buf)) s.destroy(); });
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1])));
    s.on('error', (e) => (buf ? resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1])) : reject(e)));
  });
}
const host = () => `127.0.0.1:${d.port}`;
const body = JSON.stringify({ sources: [comp], dest: join(comp, 'inside') });
const post = (headers, b = body, path = '/api/jobs') =>
  raw(`POST ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${b}`);
const std = (b = body) => [`Host: ${host()}`, `Authorization: Bearer ${d.token}`, `Content-Length: ${Buffer.byteLength(b)}`];

// [name, expected status, a function that sends it and returns the status]
const json = (name, status, b) => [name, status, async () => {
  const r = await d.api('POST', '/api/jobs', typeof b === 'string' ? b : JSON.stringify(b));
  assert.ok(r.json?.error?.message, `${name}: an error message, got ${r.status} ${r.text}`);
  return r.status;
}];
const dest = (p) => join(t.root, p);
const cases = [
  // http.c: gates and framing
  ['no token', 401, () => post([`Host: ${host()}`, `Content-Length: ${body.length}`])],
  ['wrong token', 401, () => post([`Host: ${host()}`, 'Authorization: Bearer nope', `Content-Length: ${body.length}`])],
  ['foreign Host', 403, () => post(['Host: evil.example', `Authorization: Bearer ${d.token}`, `Content-Length: ${body.length}`])],
  ['foreign Origin', 403, () => post([...std(), 'Origin: http://evil.example'])],
  ['two Content-Length', 400, () => post([...std(), `Content-Length: ${body.length}`])],
  ['Content-Length and Transfer-Encoding', 400, () => post([...std(), 'Transfer-Encoding: chunked'])],
  ['a transfer coding other than chunked', 400, () => post([`Host: ${host()}`, `Authorization: Bearer ${d.token}`, 'Transfer-Encoding: gzip'])],
  ['two Host headers', 400, () => post([...std(), `Host: ${host()}`])],
  ['space before a colon', 400, () => post([...std(), 'X-Thing : 1'])],
  ['body over 1 MiB', 413, () => {
    const b = JSON.stringify({ sources: [comp], dest: dest('server/big'), tag: 'x'.repeat(1100000) });
    return post(std(b), b);
  }],
  ['path over 4 KiB', 414, () => post(std(), body, '/api/jobs' + '/'.repeat(5000))],
  ['a path holding %00', 414, () => post(std(), body, '/api/jobs%00')],
  ['headers over 8 KiB', 431, () => post([...std(), `X-Big: ${'b'.repeat(9000)}`])],
  // api.c
  ['query of 65 parameters', 400, () => post(std(), body, '/api/jobs?' + Array.from({ length: 65 }, (_, i) => `p${i}=1`).join('&'))],
  // request.c: the body and its fields
  json('malformed JSON', 400, '{"sources": ['),
  json('a NUL byte in the body', 400, '{"sources": [], "dest": "\u0000"}'),
  json('not an object', 400, '[1, 2]'),
  json('no sources', 400, { dest: dest('server/new') }),
  json('empty sources', 400, { sources: [], dest: dest('server/new') }),
  json('sources not an array', 400, { sources: comp, dest: dest('server/new') }),
  json('a source not a string', 400, { sources: [7], dest: dest('server/new') }),
  json('a relative source', 400, { sources: ['shots/sh010/comp'], dest: dest('server/new') }),
  json('a missing source', 400, { sources: [comp, join(shots, 'gone')], dest: dest('server/new') }),
  json('a source outside the roots', 403, { sources: [join(t.root, 'escape')], dest: dest('server/new') }),
  json('no dest', 400, { sources: [comp] }),
  json('dest not a string', 400, { sources: [comp], dest: 5 }),
  json('a relative dest', 400, { sources: [comp], dest: 'server/new' }),
  json('a dest outside the roots', 403, { sources: [comp], dest: join(t.root, 'escape', 'new', 'deeper') }),
  json('tag too long', 400, { sources: [comp], dest: dest('server/new/deeper'), tag: 'x'.repeat(129) }),
  json('tag not a string', 400, { sources: [comp], dest: dest('server/new/deeper'), tag: 1 }),
  json('on_conflict', 400, { sources: [comp], dest: dest('server/new/deeper'), on_conflict: 'merge' }),
  json('bwlimit', 400, { sources: [comp], dest: dest('server/new/deeper'), bwlimit: 'fast' }),
  json('fsync', 400, { sources: [comp], dest: dest('server/new/deeper'), fsync: 'yes' }),
  json('frames', 400, { sources: [join(comp, 'comp.####.exr')], dest: dest('server/new/deeper'), frames: 'abc' }),
  json('renumber', 400, { sources: [join(comp, 'comp.####.exr')], dest: dest('server/new/deeper'), renumber: 'one' }),
  json('pad', 400, { sources: [join(comp, 'comp.####.exr')], dest: dest('server/new/deeper'), pad: 40 }),
  json('require_complete not a boolean', 400, { sources: [join(comp, 'comp.####.exr')], dest: dest('server/new/deeper'), require_complete: 1 }),
  json('check_exr not a boolean', 400, { sources: [comp], dest: dest('server/new/deeper'), check_exr: 'no' }),
  // The job's placement (libferry), after every field passed
  json('a directory into itself', 400, { sources: [comp], dest: join(comp, 'inside') }),
  json('a directory into itself, with a slash', 400, { sources: [comp], dest: join(comp, 'inside', 'deeper') + '/' }),
  json('into itself as the second source', 400, { sources: [join(shots, 'notes.txt'), shots], dest: join(comp, 'new') + '/' }),
  json('a directory to itself', 400, { sources: [comp], dest: shots }),
  json('a file onto itself', 400, { sources: [join(shots, 'notes.txt')], dest: shots }),
  json('a source with no name', 400, { sources: [comp + '/..'], dest: dest('server/new/deeper/') }),
  json('dest an existing file', 400, { sources: [comp], dest: join(shots, 'notes.txt') }),
  json('dest beneath a file', 403, { sources: [comp], dest: join(shots, 'notes.txt', 'sub') }),
  json('a name too long', 400, { sources: [comp], dest: dest('server/new/' + 'n'.repeat(300)) }),
  json('frames without a sequence source', 400, { sources: [comp], dest: dest('server/new/deeper'), frames: '1001-1003' }),
  json('require_complete with frames missing', 400, { sources: [join(comp, 'comp.####.exr')], dest: dest('server/new/deeper/'), frames: '1001-1010', require_complete: true }),
];

test('every 4xx of POST /api/jobs leaves the tree as it was', async () => {
  await sleep(20); // mtimes of the set-up settle into the past
  const before = tree();
  const wrong = [];
  for (const [name, status, send] of cases) {
    const got = await send();
    if (got !== status) wrong.push(`${name}: ${got}, expected ${status}`);
    const now = tree();
    if (now !== before) {
      const a = new Set(before.split('\n'));
      wrong.push(`${name}: the tree changed: ${now.split('\n').filter((l) => !a.has(l)).join('; ')}`);
      break;
    }
  }
  assert.deepEqual(wrong, []);
  // And nothing was journalled for them.
  assert.deepEqual((await d.api('GET', '/api/jobs')).json.jobs, []);
});

async function finished(id) {
  for (let i = 0; i < 500; i++) {
    const j = (await d.api('GET', `/api/jobs/${id}`)).json;
    if (!['queued', 'running'].includes(j.state)) return j;
    await sleep(20);
  }
  throw new Error('job did not finish');
}

test('a new destination with a trailing slash is made and copied into', async () => {
  for (const [dst, where] of [[dest('server/brand_new/'), dest('server/brand_new/comp')],
    [dest('server/newdir/deeper//'), dest('server/newdir/deeper/comp')]]) {
    const r = await d.api('POST', '/api/jobs', { sources: [comp], dest: dst });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const j = await finished(r.json.id);
    assert.equal(j.state, 'done', JSON.stringify(j));
    assert.equal(j.files_done, 5);
    assert.ok(existsSync(join(where, 'comp.1003.exr')));
    assert.deepEqual(readFileSync(join(where, 'comp.1003.exr')), readFileSync(join(comp, 'comp.1003.exr')));
  }
});
