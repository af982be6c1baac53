// The daemon, black-box: a real `ferry serve` on 127.0.0.1 with real files.
// Every endpoint and error code of docs/api.md, the security gates on HTTP and
// WebSocket, cancels over HTTP and WebSocket, progress rates, a stalled
// client, and a restart with a running job (interrupted, then resumed).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, symlinkSync, existsSync, statSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { tempTree, startDaemon, writeRandom, allocated, collect, opened, listAll, cleanup, sleep } from './daemon_lib.mjs';

const t = tempTree();
const src = join(t.root, 'src');
mkdirSync(src);
writeRandom(join(src, 'small.bin'), 100000);
const big = join(t.root, 'big.plate');
allocated(big, 200 * 1024 * 1024);
const seq = join(t.root, 'seq');
mkdirSync(seq);
for (let f = 1001; f <= 1040; f++) writeRandom(join(seq, `sh010.${f}.exr`), 50000);
const outside = join(t.dir, 'outside');
mkdirSync(outside);
writeFileSync(join(outside, 'secret'), 'secret');
symlinkSync(outside, join(t.root, 'escape'));

const d = await startDaemon(t);
// The daemon's shutdown path, after everything below: SIGTERM must end it
// with 0. In the ASan build LeakSanitizer turns any leak into another status.
after(async () => {
  const code = await d.stop();
  cleanup(t);
  assert.equal(code, 0, `ferry serve exited ${code} on SIGTERM:\n${d.stderr().slice(-4000)}`);
});

const dest = (name) => join(t.root, 'out', name);
const noTemps = (dir) => assert.deepEqual(listAll(dir).filter((p) => p.includes('.ferry-tmp-')), []);

test('health needs no token; the rest of the API does', async () => {
  const h = await d.api('GET', '/api/health', undefined, { Authorization: '' });
  assert.equal(h.status, 200);
  assert.equal(h.json.ok, true);
  assert.match(h.json.version, /^\d+\.\d+\.\d+/);
  for (const auth of ['', 'Bearer wrong', `Bearer ${d.token}x`, d.token]) {
    const r = await d.api('GET', '/api/jobs', undefined, { Authorization: auth });
    assert.equal(r.status, 401, `auth '${auth}'`);
    assert.equal(r.json.error.code, 'unauthorized');
  }
  assert.equal((await d.api('GET', '/metrics', undefined, { Authorization: '' })).status, 401);
});

test('state files: daemon.json without the token, token file 0600', () => {
  const dj = JSON.parse(readFileSync(join(t.state, 'daemon.json'), 'utf8'));
  assert.equal(dj.port, d.port);
  assert.equal(dj.pid, d.proc.pid);
  assert.ok(!JSON.stringify(dj).includes(d.token));
});

// Raw HTTP, to forge the Host header (fetch will not).
function rawGet(path, headers) {
  return new Promise((resolve, reject) => {
    const s = net.connect(d.port, '127.0.0.1', () => {
      const lines = [`GET ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''];
      s.write(lines.join('\r\n'));
    });
    let buf = '';
    s.on('data', (c) => { buf += c; });
    s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1])));
    s.on('error', reject);
  });
}

test('DNS rebinding and foreign origins get 403 on HTTP', async () => {
  const auth = `Bearer ${d.token}`;
  assert.equal(await rawGet('/api/jobs', { Host: 'evil.example:80', Authorization: auth }), 403);
  assert.equal(await rawGet('/api/jobs', { Host: `evil.example:${d.port}`, Authorization: auth }), 403);
  assert.equal(await rawGet('/api/health', { Host: 'attacker.test' }), 403);
  assert.equal(await rawGet('/api/jobs', { Host: `localhost:${d.port}`, Authorization: auth }), 200);
  assert.equal(await rawGet('/api/jobs', { Host: `127.0.0.1:${d.port}`, Authorization: auth }), 200);
  const r = await d.api('GET', '/api/jobs', undefined, { Origin: 'http://evil.example' });
  assert.equal(r.status, 403);
  const own = await d.api('GET', '/api/jobs', undefined, { Origin: `http://127.0.0.1:${d.port}` });
  assert.equal(own.status, 200);
});

test('WebSocket gates: token, Origin, Host', async () => {
  // Refused upgrades: lws drops the connection (or answers with an error status).
  const refused = /HTTP|socket hang up|closed/;
  await assert.rejects(opened(d.ws('')), refused);
  await assert.rejects(opened(d.ws('?token=nope')), refused);
  await assert.rejects(opened(d.ws(`?token=${d.token}`, { origin: 'http://evil.example' })), refused);
  await assert.rejects(opened(d.ws(`?token=${d.token}`, { headers: { Host: 'evil.example' } })), refused);
  const ws = d.ws('', { headers: { Authorization: `Bearer ${d.token}` } });
  const c = collect(ws);
  await opened(ws);
  const hello = await c.waitFor((m) => m.type === 'hello');
  assert.ok(Array.isArray(hello.jobs));
  ws.close();
});

test('POST /api/jobs validates its body and names the field', async () => {
  const bad = async (body, status, re) => {
    const r = await d.api('POST', '/api/jobs', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.match(r.json.error.message, re);
  };
  await bad('{not json', 400, /malformed JSON/);
  await bad({}, 400, /sources/);
  await bad({ sources: [], dest: dest('x') }, 400, /sources/);
  await bad({ sources: [src] }, 400, /dest/);
  await bad({ sources: [42], dest: dest('x') }, 400, /sources\[0\]/);
  await bad({ sources: ['relative/path'], dest: dest('x') }, 400, /sources\[0\].*absolute/);
  await bad({ sources: [src], dest: 'relative' }, 400, /dest.*absolute/);
  await bad({ sources: [join(t.root, 'missing')], dest: dest('x') }, 400, /sources\[0\].*does not exist/);
  await bad({ sources: [src], dest: dest('x'), on_conflict: 'maybe' }, 400, /on_conflict/);
  await bad({ sources: [src], dest: dest('x'), bwlimit: 'fast' }, 400, /bwlimit/);
  await bad({ sources: [src], dest: dest('x'), fsync: 'yes' }, 400, /fsync/);
  const huge = JSON.stringify({ sources: [src], dest: dest('x'), pad: 'x'.repeat(1100000) });
  // read before the answer: a client still sending when the server closes
  // gets a reset and may never see the 413 (a third of such requests did)
  for (let i = 0; i < 20; i++) assert.equal((await d.api('POST', '/api/jobs', huge)).status, 413);
});

test('paths outside the roots get 403: .., symlinks, absolute', async () => {
  const cases = [
    { sources: [join(t.root, '..', 'outside', 'secret')], dest: dest('x') },
    { sources: [join(t.root, 'escape', 'secret')], dest: dest('x') },
    { sources: ['/etc/passwd'], dest: dest('x') },
    { sources: [src], dest: join(t.root, 'escape', 'stolen') },
    { sources: [src], dest: join(t.root, 'newdir', '..', '..', 'outside', 'x') },
    { sources: [src], dest: '/tmp/elsewhere' },
  ];
  for (const body of cases) {
    const r = await d.api('POST', '/api/jobs', body);
    assert.equal(r.status, 403, JSON.stringify(body));
    assert.equal(r.json.error.code, 'forbidden');
  }
  assert.deepEqual(readdirSync(outside), ['secret']);
});

test('a job runs to done: job object, listing, filters, files', async () => {
  const r = await d.api('POST', '/api/jobs', { sources: [seq, join(src, 'small.bin')], dest: dest('done1'), tag: 'sh010' });
  assert.equal(r.status, 201);
  const job = r.json;
  for (const k of ['id', 'state', 'tag', 'sources', 'dest', 'created_at', 'started_at', 'finished_at', 'bytes_total',
    'bytes_done', 'files_total', 'files_done', 'files_skipped', 'files_failed', 'current_file', 'rate_bps', 'eta_s',
    'error', 'cancel_latency_us']) assert.ok(k in job, `job object has ${k}`);
  assert.match(job.id, /^[0-9a-z]{6,16}$/);
  assert.equal(job.tag, 'sh010');
  let j;
  for (let i = 0; i < 200; i++) {
    j = (await d.api('GET', `/api/jobs/${job.id}`)).json;
    if (j.state === 'done') break;
    await sleep(50);
  }
  assert.equal(j.state, 'done');
  assert.equal(j.files_done, 41);
  assert.match(j.finished_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  assert.deepEqual(readFileSync(join(dest('done1'), 'seq', 'sh010.1001.exr')), readFileSync(join(seq, 'sh010.1001.exr')));
  const byTag = await d.api('GET', '/api/jobs?tag=sh010');
  assert.ok(byTag.json.jobs.some((x) => x.id === job.id));
  assert.ok(!(await d.api('GET', '/api/jobs?tag=other')).json.jobs.some((x) => x.id === job.id));
  assert.ok((await d.api('GET', '/api/jobs?state=done')).json.jobs.some((x) => x.id === job.id));
  assert.ok(!(await d.api('GET', '/api/jobs?state=running')).json.jobs.some((x) => x.id === job.id));
  await sleep(300); // the journal writes results in groups, every ~100 ms
  const files = await d.api('GET', `/api/jobs/${job.id}/files`);
  assert.equal(files.status, 200);
  assert.equal(files.json.files.length, 41);
  assert.equal((await d.api('GET', `/api/jobs/${job.id}/files?state=failed`)).json.files.length, 0);
  assert.equal((await d.api('POST', `/api/jobs/${job.id}/cancel`)).status, 409);
  assert.equal((await d.api('GET', '/api/jobs/nosuchjob')).status, 404);
  assert.equal((await d.api('GET', '/api/jobs/nosuchjob/files')).status, 404);
  assert.equal((await d.api('POST', '/api/jobs/nosuchjob/cancel')).status, 404);
  assert.equal((await d.api('DELETE', `/api/jobs/${job.id}`)).status, 405);
  assert.equal((await d.api('GET', '/api/nothing')).status, 404);
  assert.equal((await d.api('GET', '/api/cancel')).status, 405);
});

test('HTTP cancel answers cancelled at once; nothing partial is visible', async () => {
  const r = await d.api('POST', '/api/jobs', { sources: [big], dest: dest('c1'), bwlimit: '100M' });
  assert.equal(r.status, 201);
  await sleep(400);
  const c = await d.api('POST', `/api/jobs/${r.json.id}/cancel`);
  assert.equal(c.status, 200);
  assert.equal(c.json.state, 'cancelled');
  assert.ok(!existsSync(join(dest('c1'), 'big.plate')), 'no file under its final name');
  console.log(`# POST cancel round trip: ${c.ms.toFixed(2)} ms (target p99 <= 2 ms; informative)`);
  const again = await d.api('POST', `/api/jobs/${r.json.id}/cancel`);
  assert.equal(again.status, 200);
  assert.equal(again.json.state, 'cancelled');
  await sleep(200);
  const j = (await d.api('GET', `/api/jobs/${r.json.id}`)).json;
  assert.ok(j.cancel_latency_us >= 0, 'cancel latency recorded');
  noTemps(dest('c1'));
  assert.deepEqual(readdirSync(dest('c1')), []);
});

test('rapid-fire cancels of one job are harmless', async () => {
  const r = await d.api('POST', '/api/jobs', { sources: [big], dest: dest('c2'), bwlimit: '50M' });
  await sleep(100);
  const all = await Promise.all(Array.from({ length: 50 }, () => d.api('POST', `/api/jobs/${r.json.id}/cancel`)));
  for (const a of all) { assert.equal(a.status, 200); assert.equal(a.json.state, 'cancelled'); }
});

test('WebSocket cancel: the cancelled event arrives at once; other jobs go on', async () => {
  const ws = d.ws();
  const c = collect(ws);
  await opened(ws);
  await c.waitFor((m) => m.type === 'hello');
  const a = (await d.api('POST', '/api/jobs', { sources: [big], dest: dest('w1'), bwlimit: '100M' })).json;
  const b = (await d.api('POST', '/api/jobs', { sources: [seq], dest: dest('w2') })).json;
  await c.waitFor((m) => m.type === 'job' && m.job.id === a.id && m.job.bytes_done > 0);
  const t0 = performance.now();
  ws.send(JSON.stringify({ type: 'cancel', id: a.id }));
  const ev = await c.waitFor((m) => m.type === 'job' && m.job.id === a.id && m.job.state === 'cancelled');
  console.log(`# WS cancel -> cancelled event: ${(ev._t - t0).toFixed(2)} ms (target p99 <= 5 ms; informative)`);
  assert.ok(!existsSync(join(dest('w1'), 'big.plate')));
  await c.waitFor((m) => m.type === 'job' && m.job.id === b.id && m.job.state === 'done');
  assert.equal(readdirSync(join(dest('w2'), 'seq')).length, 40);
  const files = c.msgs.filter((m) => m.type === 'file' && m.job_id === b.id);
  assert.equal(files.length, 40);
  assert.ok(files.every((f) => f.state === 'done' && f.path.includes('sh010.')));
  ws.close();
});

test('a burst of file results reaches every client that takes them, each once, before the end', async () => {
  // 2,000 results: several passes of the service loop (it turns at most 1,024
  // events into messages per pass, so that requests are answered in between).
  const many = join(t.root, 'many');
  mkdirSync(many);
  // Long names: 2,000 results of about 600 bytes, more than the sockets of
  // the client that reads nothing hold, so the daemon's writes to it fall short.
  for (let i = 0; i < 2000; i++) writeFileSync(join(many, `f${String(i).padStart(4, '0')}-${'n'.repeat(200)}`), 'x');
  // wsSlow reads nothing until the job is done: its queue holds a progress
  // message that each tick replaces in place, ahead of the results queued
  // after it. A job must not show "done" there before its results (100
  // watchers 2 s behind saw it: up to 4,500 results after "done").
  // wsBatch takes the results in "files" messages of many each.
  const wsFiles = d.ws(), wsUi = d.ws(), wsSlow = d.ws(), wsBatch = d.ws();
  const cf = collect(wsFiles), cu = collect(wsUi), cs = collect(wsSlow), cb = collect(wsBatch);
  await Promise.all([opened(wsFiles), opened(wsUi), opened(wsSlow), opened(wsBatch)]);
  await Promise.all([cf, cu, cs, cb].map((c) => c.waitFor((m) => m.type === 'hello')));
  wsUi.send(JSON.stringify({ type: 'subscribe', files: false }));
  wsBatch.send(JSON.stringify({ type: 'subscribe', files: 'batch' }));
  await sleep(100);
  wsSlow._socket.pause();
  // Pings to the client that reads nothing, whose socket the daemon fills
  // in the middle of a frame (src/daemon/ws.c, write_run): the pongs come
  // and the stream stays whole around them.
  let pongs = 0;
  wsSlow.on('pong', () => { pongs++; });
  const r = (await d.api('POST', '/api/jobs', { sources: [many], dest: dest('burst') })).json;
  for (let i = 0; i < 3; i++) wsSlow.ping();
  const polls = [];
  const endF = cf.waitFor((m) => m.type === 'job' && m.job.id === r.id && m.job.state === 'done', 60000);
  for (let done = false; !done;) {
    const a = await d.api('GET', `/api/jobs/${r.id}`);
    assert.equal(a.status, 200);
    polls.push(a.json.files_done);
    done = a.json.state === 'done';
    if (!done) await sleep(5);
  }
  await endF;
  await cu.waitFor((m) => m.type === 'job' && m.job.id === r.id && m.job.state === 'done', 60000);
  for (let i = 0; i < 3; i++) wsSlow.ping();
  await sleep(50);
  wsSlow._socket.resume();
  await cs.waitFor((m) => m.type === 'job' && m.job.id === r.id && m.job.state === 'done', 60000);
  for (let i = 0; i < 200 && cs.msgs.filter((m) => m.type === 'file').length < 2000; i++) await sleep(10);
  // lws answers the latest of the pings still waiting for their pong.
  for (let i = 0; i < 100 && pongs < 1; i++) await sleep(10);
  assert.ok(pongs >= 1 && pongs <= 6, `pongs, the stream whole around them (${pongs})`);
  const seenOf = (c) => c.msgs.filter((m) => m.type === 'file' && m.job_id === r.id).map((m) => m.path);
  for (const [name, c] of [['a client that keeps up', cf], ['a client that read nothing during the job', cs]]) {
    const seen = seenOf(c);
    assert.equal(seen.length, 2000, `${name}: every result once`);
    assert.equal(new Set(seen).size, 2000, name);
    const endAt = c.msgs.findIndex((m) => m.type === 'job' && m.job.id === r.id && ['done', 'failed'].includes(m.job.state));
    const lastFile = c.msgs.findLastIndex((m) => m.type === 'file' && m.job_id === r.id);
    assert.ok(lastFile < endAt, `${name}: the results come before the job's "done" (last result #${lastFile}, first "done" #${endAt})`);
  }
  assert.equal(cu.msgs.filter((m) => m.type === 'file').length, 0, 'an opted-out client gets none');
  await cb.waitFor((m) => m.type === 'job' && m.job.id === r.id && m.job.state === 'done', 60000);
  const batches = cb.msgs.filter((m) => m.type === 'files' && m.job_id === r.id);
  const batched = batches.flatMap((m) => m.files);
  assert.equal(cb.msgs.filter((m) => m.type === 'file').length, 0, 'a batch client gets no single results');
  assert.equal(batched.length, 2000, 'a batch client: every result once');
  assert.equal(new Set(batched.map((f) => f.path)).size, 2000);
  assert.ok(batched.every((f) => f.state === 'done' && f.error === null && f.bytes === 1 && f.dest.startsWith(dest('burst'))));
  // As many as the loop drains in one pass: the results committed together.
  assert.ok(batches.length < 2000, `results come many a message (${batches.length} messages)`);
  const firstDone = cb.msgs.findIndex((m) => m.type === 'job' && m.job.id === r.id && m.job.state === 'done');
  assert.ok(cb.msgs.findLastIndex((m) => m.type === 'files' && m.job_id === r.id) < firstDone, 'batches before "done"');
  assert.deepEqual(batched.map((f) => f.path), seenOf(cf), 'in the order one by one');
  assert.ok(polls.length >= 1);
  wsFiles.close();
  wsUi.close();
  wsSlow.close();
  wsBatch.close();
});

test('file results carry any name: escaped as JSON, null where not UTF-8; errors with them', async () => {
  // The "file" message is written by hand (src/daemon/json_text.c): names
  // with quotes, backslashes, control bytes and every length of UTF-8 must
  // arrive as the same strings; a name that is not UTF-8 cannot travel in
  // JSON and arrives as null (the file is copied all the same).
  const odd = join(t.root, 'odd');
  mkdirSync(odd);
  const names = ['q"uote', 'back\\slash', 'new\nline', 'tab\there', 'ctl\u0001\u001f\u007f', 'café €', 'clef 𝄞', 'conflict "x"'];
  names.forEach((n, i) => writeFileSync(join(odd, n), 'x'.repeat(i + 1)));
  writeFileSync(Buffer.concat([Buffer.from(`${odd}/`), Buffer.from([0xff, 0xfe, 0x2e])]), 'not utf-8');
  const out = dest('odd');
  mkdirSync(join(out, 'odd'), { recursive: true });
  writeFileSync(join(out, 'odd', 'conflict "x"'), 'already here');
  const ws = d.ws();
  const c = collect(ws);
  await opened(ws);
  await c.waitFor((m) => m.type === 'hello');
  const r = (await d.api('POST', '/api/jobs', { sources: [odd], dest: out, on_conflict: 'fail' })).json;
  await c.waitFor((m) => m.type === 'job' && m.job.id === r.id && ['done', 'failed'].includes(m.job.state));
  const files = c.msgs.filter((m) => m.type === 'file' && m.job_id === r.id);
  assert.equal(files.length, names.length + 1);
  names.forEach((n, i) => {
    const f = files.find((m) => m.path === join(odd, n));
    assert.ok(f, `a result for ${JSON.stringify(n)}`);
    assert.equal(f.dest, join(out, 'odd', n));
    assert.equal(f.bytes, i + 1);
    if (n.startsWith('conflict')) {
      assert.notEqual(f.state, 'done');
      assert.ok(f.error.includes(n), `the error names the file: ${f.error}`);
    } else {
      assert.equal(f.state, 'done', JSON.stringify(f));
      assert.equal(f.error, null);
      assert.equal(readFileSync(join(out, 'odd', n), 'utf8'), 'x'.repeat(i + 1));
    }
  });
  const bad = files.find((m) => m.path === null);
  assert.ok(bad, 'the name that is not UTF-8: path null');
  assert.equal(bad.dest, null);
  assert.equal(bad.state, 'done');
  assert.ok(readdirSync(join(out, 'odd'), { encoding: 'buffer' }).some((b) => b[0] === 0xff), 'and copied');
  ws.close();
});

test('cancel by tag and all; unknown WS messages get an error', async () => {
  const ids = [];
  for (const tag of ['A', 'A', 'B']) {
    ids.push((await d.api('POST', '/api/jobs', { sources: [big], dest: dest(`t${ids.length}`), tag, bwlimit: '20M' })).json.id);
  }
  const r = await d.api('POST', '/api/cancel', { tag: 'A' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.cancelled.sort(), ids.slice(0, 2).sort());
  assert.equal((await d.api('GET', `/api/jobs/${ids[2]}`)).json.state !== 'cancelled', true);
  const all = await d.api('POST', '/api/cancel', { all: true });
  assert.ok(all.json.cancelled.includes(ids[2]));
  assert.equal((await d.api('POST', '/api/cancel', { nothing: 1 })).status, 400);
  const ws = d.ws();
  const c = collect(ws);
  await opened(ws);
  ws.send('{"type":"frobnicate"}');
  await c.waitFor((m) => m.type === 'error' && /unknown/.test(m.message));
  ws.send('{"type":"subscribe","files":"some"}');
  await c.waitFor((m) => m.type === 'error' && /files: true, false or "batch"/.test(m.message));
  // A WebSocket cancel of a job that already ended: an error saying so.
  const ended = (await d.api('POST', '/api/jobs', { sources: [join(src, 'small.bin')], dest: dest('ended') })).json;
  await c.waitFor((m) => m.type === 'job' && m.job.id === ended.id && m.job.state === 'done');
  ws.send(JSON.stringify({ type: 'cancel', id: ended.id }));
  await c.waitFor((m) => m.type === 'error' && m.message.includes(ended.id) && /ended/.test(m.message));
  ws.close();
});

test('progress is pushed at least twice and at most 20 times a second', async () => {
  const ws = d.ws();
  const c = collect(ws);
  await opened(ws);
  ws.send(JSON.stringify({ type: 'subscribe', files: false }));
  const j = (await d.api('POST', '/api/jobs', { sources: [big], dest: dest('p1'), bwlimit: '80M' })).json;
  await sleep(2000);
  await d.api('POST', `/api/jobs/${j.id}/cancel`);
  const ticks = c.msgs.filter((m) => m.type === 'job' && m.job.id === j.id && m.job.state === 'running' && m.job.bytes_done > 0);
  const span = (ticks.at(-1)._t - ticks[0]._t) / 1000;
  const rate = (ticks.length - 1) / span;
  console.log(`# progress messages: ${ticks.length} in ${span.toFixed(2)} s = ${rate.toFixed(1)}/s`);
  assert.ok(rate >= 2 && rate <= 20, `rate ${rate}`);
  const last = ticks.at(-1).job;
  assert.ok(last.rate_bps > 0 && last.current_file.endsWith('big.plate'));
  ws.close();
});

test('an idle daemon sleeps: no thread wakes while no job runs; the next job has its progress', async () => {
  // A daemon of its own: the shared one still closes the connections of the
  // tests before (each close a wake-up).
  const t2 = tempTree();
  const d2 = await startDaemon(t2);
  try {
    const ws = d2.ws(); // a client connected all along
    const c = collect(ws);
    await opened(ws);
    // Context switches of each thread (/proc/PID/task/TID/status) over 2 s.
    const switches = () => Object.fromEntries(readdirSync(`/proc/${d2.proc.pid}/task`).map((tid) => {
      const st = readFileSync(`/proc/${d2.proc.pid}/task/${tid}/status`, 'utf8');
      const n = [...st.matchAll(/ctxt_switches:\s+(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      return [`${/^Name:\s+(.*)$/m.exec(st)[1]} ${tid}`, n];
    }));
    await sleep(300);
    const before = switches();
    await sleep(2000);
    const after = switches();
    // Twenty a second in all, before: the service loop's tick and the
    // journal's group-commit wait ran with nothing to do.
    for (const [k, n] of Object.entries(before))
      if (k in after) assert.ok(after[k] - n <= 4, `${k} woke ${after[k] - n} times in 2 s`);
    const plate = join(t2.root, 'plate');
    allocated(plate, 100 * 1024 * 1024);
    const j = (await d2.api('POST', '/api/jobs', { sources: [plate], dest: join(t2.root, 'out'), bwlimit: '40M' })).json;
    await sleep(1000);
    await d2.api('POST', `/api/jobs/${j.id}/cancel`);
    const ticks = c.msgs.filter((m) => m.type === 'job' && m.job.id === j.id && m.job.state === 'running' && m.job.bytes_done > 0);
    assert.ok(ticks.length >= 2, `${ticks.length} progress messages in 1 s`);
    ws.close();
  } finally {
    await d2.stop();
    cleanup(t2);
  }
});

test('a stalled WebSocket client slows nobody and is dropped when far behind', async () => {
  const stalled = d.ws();
  await opened(stalled);
  stalled._socket.pause(); // never read again
  const ws = d.ws();
  const c = collect(ws);
  await opened(ws);
  const j = (await d.api('POST', '/api/jobs', { sources: [seq], dest: dest('s1') })).json;
  await c.waitFor((m) => m.type === 'job' && m.job.id === j.id && m.job.state === 'done');
  const h = await d.api('GET', '/api/health');
  assert.equal(h.status, 200);
  stalled.terminate();
  ws.close();
});

test('SIGTERM with a running job: journalled; a restart shows it, resume completes it', async () => {
  // A second daemon of its own, so that the first keeps serving the other tests.
  const t2 = tempTree();
  mkdirSync(join(t2.root, 'seq'));
  for (let f = 1; f <= 30; f++) writeRandom(join(t2.root, 'seq', `f.${f}.exr`), 200000);
  let d2 = await startDaemon(t2);
  const j = (await d2.api('POST', '/api/jobs', { sources: [join(t2.root, 'seq')], dest: join(t2.root, 'out'), bwlimit: '2M' })).json;
  await sleep(1500);
  d2.expectDeath();
  d2.proc.kill('SIGKILL'); // the process dies while the job runs
  await new Promise((r) => d2.proc.on('exit', r));
  d2 = await startDaemon(t2);
  const after1 = (await d2.api('GET', `/api/jobs/${j.id}`)).json;
  assert.equal(after1.state, 'interrupted');
  noTemps(join(t2.root, 'out'));
  const res = await d2.api('POST', `/api/jobs/${j.id}/resume`);
  assert.equal(res.status, 200);
  let s;
  for (let i = 0; i < 200; i++) {
    s = (await d2.api('GET', `/api/jobs/${j.id}`)).json;
    if (s.state !== 'running' && s.state !== 'queued') break;
    await sleep(100);
  }
  // bwlimit makes this slower; cancel-free, it must end done
  assert.equal(s.state, 'done', JSON.stringify(s));
  assert.ok(s.files_skipped > 0, 'files copied before the crash are skipped');
  for (let f = 1; f <= 30; f++) {
    assert.deepEqual(readFileSync(join(t2.root, 'out', 'seq', `f.${f}.exr`)), readFileSync(join(t2.root, 'seq', `f.${f}.exr`)));
  }
  assert.equal((await d2.api('POST', `/api/jobs/${j.id}/resume`)).status, 409);
  const code = await d2.stop('SIGTERM');
  assert.equal(code, 0);
  cleanup(t2);
});

test('--realtime: the service loop alone at SCHED_FIFO, the threads it starts normal', async () => {
  const t2 = tempTree();
  const d2 = await startDaemon(t2, ['--realtime']);
  try {
    // /proc/PID/task/TID/stat: after "comm) ", field 40 (rt_priority) and 41 (policy).
    const sched = (tid) => {
      const f = readFileSync(`/proc/${d2.proc.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      return { prio: Number(f[37]), policy: Number(f[38]) };
    };
    const comm = (tid) => readFileSync(`/proc/${d2.proc.pid}/task/${tid}/comm`, 'utf8').trim();
    const metrics = (await d2.api('GET', '/metrics')).text;
    if (process.getuid() !== 0) {
      assert.match(d2.stderr(), /--realtime: cannot use SCHED_FIFO/);
      assert.match(metrics, /ferry_service_realtime 0/);
      return;
    }
    assert.match(metrics, /ferry_service_realtime 1/);
    assert.deepEqual(sched(d2.proc.pid), { prio: 1, policy: 1 }, 'the service thread: SCHED_FIFO 1');
    const plate = join(t2.root, 'plate');
    allocated(plate, 100 * 1024 * 1024);
    const j = (await d2.api('POST', '/api/jobs', { sources: [plate], dest: join(t2.root, 'out'), bwlimit: '10M' })).json;
    let runner = null;
    for (let i = 0; i < 200 && !runner; i++) {
      runner = readdirSync(`/proc/${d2.proc.pid}/task`).find((tid) => comm(tid) === 'ferry-job') ?? null;
      if (!runner) await sleep(10);
    }
    assert.ok(runner, 'a job runner thread');
    assert.equal(sched(runner).policy, 0, 'a thread the service loop starts is a normal one');
    for (const tid of readdirSync(`/proc/${d2.proc.pid}/task`))
      if (Number(tid) !== d2.proc.pid) assert.equal(sched(tid).policy, 0, `${comm(tid)} is a normal thread`);
    assert.equal((await d2.api('POST', `/api/jobs/${j.id}/cancel`)).status, 200);
    // File results go out at normal priority (a turn of the loop that sends
    // them drops to SCHED_OTHER): the loop is real-time again afterwards.
    const many = join(t2.root, 'many');
    mkdirSync(many);
    for (let i = 0; i < 500; i++) writeFileSync(join(many, `f${i}`), 'x');
    const ws = d2.ws();
    const c = collect(ws);
    await opened(ws);
    await c.waitFor((m) => m.type === 'hello');
    const k = (await d2.api('POST', '/api/jobs', { sources: [many], dest: join(t2.root, 'out2') })).json;
    await c.waitFor((m) => m.type === 'job' && m.job.id === k.id && m.job.state === 'done', 60000);
    assert.equal(c.msgs.filter((m) => m.type === 'file' && m.job_id === k.id).length, 500);
    await sleep(100);
    assert.deepEqual(sched(d2.proc.pid), { prio: 1, policy: 1 }, 'the service thread: SCHED_FIFO 1 again');
    ws.close();
  } finally {
    await d2.stop();
    cleanup(t2);
  }
});

test('metrics in Prometheus text', async () => {
  const r = await d.api('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.text, /ferry_jobs\{state="cancelled"\} \d+/);
  assert.match(r.text, /ferry_cancel_latency_us_bucket\{le="\+Inf"\} \d+/);
  assert.match(r.text, /ferry_ws_clients \d+/);
  assert.match(r.text, /ferry_ws_file_clients \d+/);
});

// Headers and body written apart reached the client as two reads, the second
// up to 3 ms later on a busy machine (the cancel round trip's tail): an answer
// must leave in one write. Sent apart, about a third of these were split.
test('an answer arrives whole in one read: status line, headers and body', async () => {
  const sock = net.connect({ port: d.port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve) => sock.once('connect', resolve));
  const split = [];
  for (let i = 0; i < 100; i++) {
    const path = i % 2 ? '/api/jobs' : '/api/health';
    const first = await new Promise((resolve) => {
      sock.once('data', (c) => resolve(c.toString()));
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\nAuthorization: Bearer ${d.token}\r\n\r\n`);
    });
    const end = first.indexOf('\r\n\r\n');
    const len = Number(/content-length:\s*(\d+)/i.exec(first)?.[1]);
    assert.ok(end > 0 && len > 0, `no header end or length in ${JSON.stringify(first.slice(0, 200))}`);
    let have = first.length - end - 4;
    if (have < len) split.push(`${path}: ${have} of ${len} body bytes`);
    while (have < len) have += (await new Promise((resolve) => sock.once('data', resolve))).length;
    assert.equal(have, len, 'no bytes beyond the answer');
  }
  sock.destroy();
  assert.deepEqual(split, []);
});

test('the UI is served at /', async () => {
  const r = await fetch(d.base + '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.equal((await fetch(d.base + '/nope.html')).status, 404);
  // Larger than one write (16 KiB after the headers): sent in parts, whole.
  const js = await fetch(d.base + '/app.js');
  assert.equal(js.status, 200);
  assert.equal(await js.text(), readFileSync(new URL('../../web/app.js', import.meta.url), 'utf8'));
});

test('CLI clients: ferry submit, watch, cancel talk to the daemon', async () => {
  const { spawnSync, spawn } = await import('node:child_process');
  const env = { ...process.env, FERRY_TOKEN: d.token };
  const run = (...args) => spawnSync(process.env.FERRY, [...args], { env, encoding: 'utf8' });
  const sub = run('submit', '--state-dir', t.state, '--bwlimit', '50M', '--tag', 'cli', big, dest('cli1'));
  assert.equal(sub.status, 0, sub.stderr);
  const id = sub.stdout.trim();
  assert.match(id, /^[0-9a-z]+$/);
  // WebSocket clients that opted out of per-file results, from /metrics
  const jobEventsOnly = async () => {
    const m = (await d.api('GET', '/metrics')).text;
    const gauge = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(m)[1]);
    return gauge('ferry_ws_clients') - gauge('ferry_ws_file_clients');
  };
  const before = await jobEventsOnly();
  const watch = spawn(process.env.FERRY, ['watch', '--state-dir', t.state, id], { env });
  let out = '';
  watch.stdout.on('data', (c) => { out += c; });
  const watched = new Promise((r) => watch.on('exit', (code) => r(code)));
  await sleep(500);
  const withWatch = await jobEventsOnly();
  assert.equal(withWatch, before + 1, 'ferry watch takes no per-file results');
  const c1 = run('cancel', '--state-dir', t.state, id);
  assert.equal(c1.status, 0, c1.stderr);
  assert.match(c1.stdout, new RegExp(`cancelled ${id}`));
  assert.equal(await watched, 130, 'watch exits like ferry copy: 130 for a cancelled job');
  assert.match(out, new RegExp(`${id} cancelled`));
  assert.equal(run('cancel', '--state-dir', t.state, id).status, 0, 'a second cancel is harmless');
  const none = run('cancel', '--state-dir', t.state, 'nosuchjob');
  assert.equal(none.status, 1);
  assert.match(none.stderr, /404/);
  const bad = run('submit', '--state-dir', t.state, '/etc/passwd', dest('cli2'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /403.*outside the allowed roots/);
  assert.equal(run('cancel', '--state-dir', t.state).status, 2, 'usage error');
  assert.ok(!existsSync(join(dest('cli1'), 'big.plate')));
});
