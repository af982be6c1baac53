// The daemon's HTTP/1.1 (RFC 9112) and WebSocket (RFC 6455) layer, black-box,
// whatever library serves it: whole connections driven through raw sockets.
// Pipelined requests (also split at every byte into two writes), a long
// keep-alive run, jobs posted beside big listings, request-smuggling shapes,
// chunked bodies, Expect: 100-continue, HTTP/1.0, HEAD, h2c, half-closed and
// vanishing clients, WebSocket framing and close codes, odd request lines.
// After every case a new connection must get /api/health within 2 s; a daemon
// that does not is replaced (SIGKILL if SIGTERM does not end it), so that the
// cases after it still tell something. The last case: SIGTERM ends it in 5 s.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempTree, startDaemon, cleanup, sleep } from './daemon_lib.mjs';

const t = tempTree();
const src = join(t.root, 'src');
mkdirSync(src);
writeFileSync(join(src, 'a.txt'), 'ferry');
// 4,000 names of letters only (digits would collapse into frame sequences),
// of one width, so that any byte order sorts them the same.
const big = join(t.root, 'big');
mkdirSync(big);
const letters = (i) => [2, 1, 0].map((p) => String.fromCharCode(97 + (Math.floor(i / 26 ** p) % 26))).join('');
const bigNames = Array.from({ length: 4000 }, (_, i) => `n-${letters(i)}.txt`);
for (const n of bigNames) writeFileSync(join(big, n), '');

// ---- the daemon: one for the file, a fresh one after a wedge -------------

const daemons = [];
let generation = 0;
async function freshDaemon() {
  // A state directory each: a killed daemon's journal stays behind.
  const dd = await startDaemon({ ...t, state: join(t.dir, `state-${generation++}`) });
  daemons.push(dd);
  return dd;
}
let d = await freshDaemon();
let stopped = false; // the last case stopped the daemon on purpose
const live = new Set(); // every connection a case opened: closed after it

const exited = (dd) => dd.proc.exitCode !== null || dd.proc.signalCode !== null;
// SIGTERM, then SIGKILL if the daemon is still there after `ms`: a wedged
// service loop may ignore SIGTERM, and the file must fail, not hang.
async function stopWithin(dd, ms) {
  const t0 = performance.now();
  if (exited(dd)) return { code: dd.proc.exitCode, ms: 0, killed: false };
  const done = dd.stop('SIGTERM');
  let timer;
  const code = await Promise.race([done, new Promise((r) => { timer = setTimeout(r, ms, 'timeout'); })]);
  clearTimeout(timer);
  if (code !== 'timeout') return { code, ms: performance.now() - t0, killed: false };
  dd.proc.kill('SIGKILL');
  await done;
  return { code: null, ms: performance.now() - t0, killed: true };
}

after(async () => {
  for (const c of live) c.destroy();
  for (const dd of daemons) await stopWithin(dd, 5000);
  cleanup(t);
});

// Every case: a new connection gets /api/health within 2 s, or the case
// fails and the next ones get a fresh daemon.
// (Said on stdout too: node:test shows only the first error of a case.)
afterEach(async (tc) => {
  for (const c of live) c.destroy();
  if (stopped || (await healthy(2000))) return;
  const { killed } = await stopWithin(d, 1000);
  d = await freshDaemon();
  const msg = `no 200 for GET /api/health on a new connection within 2 s after this case ` +
    `(the daemon ${killed ? 'ignored SIGTERM for 1 s: killed' : 'stopped on SIGTERM'}; the next cases get a fresh one)`;
  console.log(`# ${tc.name}: ${msg}`);
  assert.fail(msg);
});

// ---- a raw connection: bytes out, HTTP answers and WebSocket frames in ----

const preview = (b) => JSON.stringify(Buffer.from(b).subarray(0, 160).toString('latin1'));

class Conn {
  static open(ms = 2000) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port: d.port, host: '127.0.0.1', noDelay: true });
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no connection within ${ms} ms`)); }, ms);
      sock.once('connect', () => { clearTimeout(timer); resolve(new Conn(sock)); });
      sock.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false; // the server ended or reset the connection
    this.wake = null;
    live.add(this);
    sock.on('data', (b) => { this.buf = Buffer.concat([this.buf, b]); this.wake?.(); });
    const gone = () => { this.closed = true; this.wake?.(); };
    sock.on('end', gone);
    sock.on('close', gone);
    sock.on('error', () => {}); // EPIPE, ECONNRESET: 'close' follows
  }

  // After the server closed, writes go nowhere: what it answered is what counts.
  write(bytes) { if (this.sock.writable) this.sock.write(bytes); }
  end() { this.sock.end(); }
  destroy() { this.sock.destroy(); live.delete(this); }

  // Waits until pred() holds, the server closed, or the deadline; pred() then.
  async until(pred, deadline) {
    while (!pred() && !this.closed) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await new Promise((r) => {
        const timer = setTimeout(r, left);
        this.wake = () => { clearTimeout(timer); r(); };
      });
      this.wake = null;
    }
    return pred();
  }

  // Whether the server closed the connection within ms.
  async closedWithin(ms) {
    await this.until(() => false, performance.now() + ms);
    return this.closed;
  }

  // Lets ms pass (or the server close): for "nothing more came".
  quiet(ms) { return this.closedWithin(ms); }

  // The next whole HTTP answer; head: it answers a HEAD (no body); what:
  // the request, for the error.
  async response({ head = false, ms = 2000, what = '' } = {}) {
    let r = null;
    await this.until(() => (r = parseResponse(this.buf, head, this.closed)) !== null, performance.now() + ms);
    if (!r) {
      throw new Error((what && `${what}: `) + (this.closed
        ? `the connection was closed ${this.buf.length ? `in the middle of an answer: ${preview(this.buf)}` : 'without an answer'}`
        : `no whole answer within ${ms} ms (${this.buf.length} bytes: ${preview(this.buf)})`));
    }
    this.buf = this.buf.subarray(r.size);
    return r;
  }

  // The next WebSocket frame from the server.
  async frame(ms = 2000) {
    let f = null;
    await this.until(() => (f = parseFrame(this.buf)) !== null, performance.now() + ms);
    if (!f) {
      throw new Error(this.closed ? 'the connection was closed without a (whole) frame'
        : `no WebSocket frame within ${ms} ms`);
    }
    this.buf = this.buf.subarray(f.size);
    return f;
  }

  // The next text message, JSON-parsed (fragments joined; pings answered;
  // pongs skipped). A close frame here is an error.
  async message(ms = 2000) {
    const deadline = performance.now() + ms;
    const parts = [];
    for (;;) {
      const f = await this.frame(deadline - performance.now());
      if (f.opcode === 0x9) { this.write(wsFrame(0xa, f.payload)); continue; }
      if (f.opcode === 0xa) continue;
      if (f.opcode === 0x8) throw new Error(`closed by the server with ${closeCodeOf(f)} instead of a message`);
      parts.push(f.payload);
      if (f.fin) return JSON.parse(Buffer.concat(parts).toString('utf8'));
    }
  }

  // The next control frame of this opcode; text messages before it are
  // kept in this.skipped.
  async control(opcode, ms = 2000) {
    const deadline = performance.now() + ms;
    this.skipped ??= [];
    for (;;) {
      const f = await this.frame(deadline - performance.now());
      if (f.opcode === opcode) return f;
      if (f.opcode === 0x8) throw new Error(`closed by the server with ${closeCodeOf(f)}`);
      if (f.opcode === 0x1 || f.opcode === 0x0) this.skipped.push(f.payload.toString('utf8'));
    }
  }

  // The code of the server's close frame (1005 if it has none), skipping
  // messages before it; null if the TCP connection ended without one.
  async closeCode(ms = 2000) {
    const deadline = performance.now() + ms;
    for (;;) {
      let f;
      try {
        f = await this.frame(deadline - performance.now());
      } catch (e) {
        if (this.closed) return null;
        throw e;
      }
      if (f.opcode === 0x8) return closeCodeOf(f);
    }
  }
}

// Reads one answer from buf (RFC 9112 section 6.3 for its length): null while
// incomplete, an Error for what no HTTP/1.1 server may send.
function parseResponse(buf, head, closed) {
  if (buf.length >= 5 && buf.subarray(0, 5).toString('latin1') !== 'HTTP/') throw new Error(`not an HTTP answer: ${preview(buf)}`);
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/(1\.[01]) ([1-5]\d\d) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = new Map();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    const name = line.slice(0, c);
    if (c <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new Error(`bad header line in an answer: ${JSON.stringify(line)}`);
    headers.set(name.toLowerCase(), [...(headers.get(name.toLowerCase()) ?? []), line.slice(c + 1).trim()]);
  }
  const status = Number(m[2]);
  const r = { version: m[1], status, statusLine: lines[0], headers, chunked: false };
  r.header = (n) => headers.get(n.toLowerCase())?.join(', ');
  let at = end + 4;
  let body;
  const te = r.header('transfer-encoding');
  const cl = headers.get('content-length');
  if (head || status < 200 || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) {
    r.chunked = true;
    const got = dechunk(buf, at);
    if (!got) return null;
    [body, at] = got;
  } else if (te === undefined && cl !== undefined) {
    if (cl.length !== 1 || !/^\d+$/.test(cl[0])) throw new Error(`bad Content-Length in an answer: ${cl}`);
    const n = Number(cl[0]);
    if (buf.length < at + n) return null;
    body = buf.subarray(at, at + n);
    at += n;
  } else { // delimited by the close
    if (!closed) return null;
    body = buf.subarray(at);
    at = buf.length;
  }
  r.body = body;
  r.text = body.toString('utf8');
  r.size = at;
  try { r.json = JSON.parse(r.text); } catch { r.json = null; }
  return r;
}

// A chunked body in buf from `at`: [body, end], null while incomplete.
function dechunk(buf, at) {
  const parts = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = buf.subarray(at, eol).toString('latin1').split(';')[0].trim();
    if (!/^[0-9a-fA-F]+$/.test(size)) throw new Error(`bad chunk size in an answer: ${JSON.stringify(size)}`);
    const n = parseInt(size, 16);
    at = eol + 2;
    if (n === 0) { // trailer fields up to an empty line
      for (;;) {
        const e = buf.indexOf('\r\n', at);
        if (e < 0) return null;
        const last = e === at;
        at = e + 2;
        if (last) return [Buffer.concat(parts), at];
      }
    }
    if (buf.length < at + n + 2) return null;
    if (buf.subarray(at + n, at + n + 2).toString('latin1') !== '\r\n') throw new Error('a chunk of an answer does not end in CRLF');
    parts.push(buf.subarray(at, at + n));
    at += n + 2;
  }
}

// One WebSocket frame from the server, null while incomplete.
function parseFrame(buf) {
  if (buf.length < 2) return null;
  if (buf[1] & 0x80) throw new Error('a masked frame from the server (RFC 6455 5.1: it must not mask)');
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  if (buf.length < at + len) return null;
  return { fin: !!(buf[0] & 0x80), rsv: (buf[0] >> 4) & 7, opcode: buf[0] & 0xf, payload: buf.subarray(at, at + len), size: at + len };
}

const closeCodeOf = (f) => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);
const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);

// A client frame: masked unless told (RFC 6455 5.3: a client must mask).
function wsFrame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.from(payload);
  const len = data.length;
  let head;
  if (len < 126) head = Buffer.from([0, len]);
  else if (len < 65536) head = Buffer.concat([Buffer.from([0, 126]), u16(len)]);
  else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([head, data]);
  head[1] |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([head, key, masked]);
}

// The handshake by hand (RFC 6455 4.2.2), then the hello message.
async function wsOpen() {
  const c = await Conn.open();
  const key = randomBytes(16).toString('base64');
  c.write(`GET /api/events?token=${d.token} HTTP/1.1\r\n${host()}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const r = await c.response();
  assert.equal(r.status, 101, `the handshake: ${r.statusLine} ${preview(r.body)}`);
  assert.match(r.header('upgrade') ?? '', /^websocket$/i);
  assert.match(r.header('connection') ?? '', /(^|,)\s*upgrade\s*(,|$)/i);
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  assert.equal(r.header('sec-websocket-accept'), accept);
  const hello = await c.message();
  assert.equal(hello.type, 'hello');
  return c;
}

// ---- requests ---------------------------------------------------------------

const host = () => `Host: 127.0.0.1:${d.port}\r\n`;
const bearer = () => `Authorization: Bearer ${d.token}\r\n`;
const get = (path, { token = false, head = '' } = {}) => `GET ${path} HTTP/1.1\r\n${host()}${token ? bearer() : ''}${head}\r\n`;
const post = (path, body, { token = true, head = '' } = {}) =>
  `POST ${path} HTTP/1.1\r\n${host()}${token ? bearer() : ''}Content-Length: ${Buffer.byteLength(body)}\r\n${head}\r\n${body}`;
const jobBody = (tag, dest = join(t.root, 'out')) =>
  JSON.stringify({ sources: [join(src, 'a.txt')], dest, tag, on_conflict: 'skip', fsync: false });
const fsPath = () => `/api/fs?path=${encodeURIComponent(big)}`;

// The requests the cases mix, each with the answer it must get. closes: a
// refusal after which the daemon closes the connection (docs/api.md).
const errorIs = (code) => (r) => r.json?.error?.code === code;
const K = {
  health: () => ({ name: 'GET /api/health', bytes: get('/api/health'), status: 200, ok: (r) => r.json?.ok === true }),
  jobs: () => ({ name: 'GET /api/jobs', bytes: get('/api/jobs?tag=no-such-tag', { token: true }), status: 200,
    ok: (r) => Array.isArray(r.json?.jobs) && r.json.jobs.length === 0 }),
  job: (tag) => ({ name: `POST /api/jobs (${tag})`, bytes: post('/api/jobs', jobBody(tag)), status: 201, ok: (r) => r.json?.tag === tag }),
  badJson: () => ({ name: 'POST /api/jobs, bad JSON', bytes: post('/api/jobs', '{"sources": ['), status: 400, ok: errorIs('bad_request') }),
  unauth: () => ({ name: 'POST /api/jobs without the token', bytes: post('/api/jobs', jobBody('unauth'), { token: false }),
    status: 401, closes: true, ok: errorIs('unauthorized') }),
  postHealth: () => ({ name: 'POST /api/health', bytes: post('/api/health', '{}', { token: false }), status: 405, ok: errorIs('method_not_allowed') }),
  ui: () => ({ name: 'GET /', bytes: get('/'), status: 200, ok: (r) => /<html/i.test(r.text) }),
  nope: () => ({ name: 'GET /api/jobs/NOPE', bytes: get('/api/jobs/NOPE', { token: true }), status: 404, ok: errorIs('not_found') }),
};

function expectAnswer(r, k, where) {
  assert.equal(r.status, k.status, `${where}: ${k.name} answered ${r.statusLine} ${preview(r.body)}`);
  assert.equal(r.version, '1.1', `${where}: ${r.statusLine}`);
  assert.ok(k.ok(r), `${where}: ${k.name}: not its answer: ${preview(r.body)}`);
}

// A new connection gets 200 for /api/health within ms.
async function healthy(ms = 2000) {
  let c;
  try {
    c = await Conn.open(ms);
    c.write(get('/api/health'));
    const r = await c.response({ ms });
    return r.status === 200 && r.json?.ok === true;
  } catch {
    return false;
  } finally {
    c?.destroy();
  }
}

// Runs every case and collects what went wrong instead of stopping at the
// first, so that one run names every shape a daemon gets wrong; a daemon that
// stops answering ends the loop (the rest would only time out).
async function eachCase(cases, fn) {
  const problems = [];
  for (const [name, ...args] of cases) {
    try {
      await fn(name, ...args);
    } catch (e) {
      problems.push(`${name}: ${e.message.split('\n')[0]}`);
      if (!(await healthy(1000))) {
        problems.push(`(the daemon stopped answering after '${name}')`);
        break;
      }
    }
  }
  return problems;
}

// A request on a new connection: its first answer, whether the daemon then
// closed within 500 ms, and whatever else it sent.
async function exchange(bytes, opts = {}) {
  const c = await Conn.open();
  try {
    c.write(bytes);
    const r = await c.response(opts);
    const closed = await c.closedWithin(500);
    return { r, closed, more: c.buf };
  } finally {
    c.destroy();
  }
}

// ---- 1. pipelining ----------------------------------------------------------

// Sends the requests in one write (or two, split at byte `at`) and reads the
// answers in order. A closing refusal is the last one answered, then the
// connection closes; without one, the connection answers a request after.
async function pipeline(kinds, at) {
  const bytes = Buffer.concat(kinds.map((k) => Buffer.from(k.bytes)));
  const where = at === undefined ? 'in one write' : `split at byte ${at} of ${bytes.length}`;
  const c = await Conn.open();
  try {
    if (at === undefined) c.write(bytes);
    else {
      c.write(bytes.subarray(0, at));
      await sleep(1); // two reads for the server, mostly
      c.write(bytes.subarray(at));
    }
    const closing = kinds.findIndex((k) => k.closes);
    const answered = closing < 0 ? kinds : kinds.slice(0, closing + 1);
    for (const [i, k] of answered.entries()) {
      const what = `answer ${i + 1} of ${kinds.length}, ${where}`;
      expectAnswer(await c.response({ what }), k, what);
    }
    if (closing >= 0) {
      const closed = await c.closedWithin(500);
      assert.equal(c.buf.length, 0, `${where}: answered after the ${kinds[closing].status}: ${preview(c.buf)}`);
      assert.ok(closed, `${where}: the connection is still open after the ${kinds[closing].status}`);
    } else {
      c.write(get('/api/health'));
      expectAnswer(await c.response(), K.health(), `a request after the set, ${where}`);
    }
  } finally {
    c.destroy();
  }
}

const set2 = () => [K.job('pipe2'), K.health()];
// The 401 in the middle: the third request must not be answered.
const set3 = () => [K.health(), K.unauth(), K.jobs()];
const set10 = () => [K.health(), K.postHealth(), K.ui(), K.job('pipe10a'), K.jobs(),
  K.badJson(), K.nope(), K.health(), K.job('pipe10b'), K.jobs()];

test('pipelining: 2 requests in one write', { timeout: 30000 }, () => pipeline(set2()));
test('pipelining: 3 requests in one write, a 401 in the middle closes', { timeout: 30000 }, () => pipeline(set3()));
test('pipelining: 10 mixed requests in one write', { timeout: 30000 }, () => pipeline(set10()));

async function splitEvery(kinds, step) {
  const len = Buffer.byteLength(kinds.map((k) => k.bytes).join(''));
  const t0 = performance.now();
  let n = 0;
  for (let at = 1; at < len; at += step, n++) await pipeline(kinds, at);
  console.log(`# ${kinds.length} requests (${len} bytes) split at ${n} boundaries: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
test('pipelining: 2 requests split at every byte into two writes', { timeout: 60000 }, () => splitEvery(set2(), 1));
test('pipelining: 3 requests split at every byte into two writes', { timeout: 60000 }, () => splitEvery(set3(), 1));
test('pipelining: 10 requests split at every 7th byte into two writes', { timeout: 60000 }, () => splitEvery(set10(), 7));

// ---- 2. keep-alive ----------------------------------------------------------

test('100 requests one at a time on a kept-alive connection; 400/404/405 keep it, 401/403/413 close it', { timeout: 30000 }, async () => {
  const mix = [K.health, K.jobs, K.nope, K.badJson, K.postHealth, (i) => K.job(`ka-${i}`)];
  const c = await Conn.open();
  for (let i = 0; i < 100; i++) {
    const k = mix[i % mix.length](i);
    c.write(k.bytes);
    const what = `request ${i + 1} of 100 (${k.name})`;
    expectAnswer(await c.response({ what }), k, what);
  }
  c.write(K.unauth().bytes);
  expectAnswer(await c.response(), K.unauth(), 'after 100 requests');
  assert.ok(await c.closedWithin(500), 'the connection is open after the 401');
  // 403 (a foreign Host) and 413 (a body over 1 MiB, sent whole) after a 200 each.
  const refusals = [
    ['403', `GET /api/jobs HTTP/1.1\r\nHost: evil.example\r\n${bearer()}\r\n`, 403],
    ['413', `POST /api/jobs HTTP/1.1\r\n${host()}${bearer()}Content-Length: ${1024 * 1024 + 1}\r\n\r\n${'x'.repeat(1024 * 1024 + 1)}`, 413],
  ];
  for (const [name, bytes, status] of refusals) {
    const k = await Conn.open();
    k.write(get('/api/health'));
    expectAnswer(await k.response(), K.health(), `before the ${name}`);
    k.write(bytes);
    const r = await k.response();
    assert.equal(r.status, status, `${name}: ${r.statusLine}`);
    assert.ok(await k.closedWithin(500), `the connection is open after the ${name}`);
    k.destroy();
  }
});

// ---- 3. jobs beside big listings -------------------------------------------

test('jobs posted one at a time on kept-alive connections while two clients list 4,000 entries', { timeout: 60000 }, async () => {
  let posting = true;
  const poster = async (p) => {
    const c = await Conn.open();
    for (let i = 0; i < 20; i++) {
      const k = K.job(`busy-${p}-${i}`);
      c.write(k.bytes);
      const what = `poster ${p}, job ${i + 1}`;
      expectAnswer(await c.response({ what }), k, what);
    }
  };
  const lister = async (l) => {
    const c = await Conn.open();
    let n = 0;
    for (; posting || n < 3; n++) {
      c.write(get(fsPath(), { token: true }));
      const r = await c.response({ what: `lister ${l}, listing ${n + 1}` });
      assert.equal(r.status, 200, `lister ${l}, listing ${n + 1}: ${r.statusLine} ${preview(r.body)}`);
      const names = r.json?.entries?.map((e) => e.name) ?? [];
      assert.ok(r.json?.path === big && r.json.truncated === false && names.length === 4000 && names.every((x, i) => x === bigNames[i]),
        `lister ${l}, listing ${n + 1}: not the 4,000 entries: ${preview(r.body)}`);
    }
    return n;
  };
  const posters = Promise.all([poster(1), poster(2)]).finally(() => { posting = false; });
  const results = await Promise.allSettled([posters, lister(1), lister(2)]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  console.log(`# 40 jobs posted beside ${results[1].value} + ${results[2].value} listings of 4,000 entries`);
});

// ---- 4. smuggling -----------------------------------------------------------

test('request smuggling shapes: 400, the connection closed, the hidden request never answered', { timeout: 60000 }, async () => {
  const smuggled = `GET /api/jobs/SMUGGLED HTTP/1.1\r\n${host()}${bearer()}\r\n`;
  const n = smuggled.length;
  const P = `POST /api/jobs HTTP/1.1\r\n${host()}${bearer()}`;
  const zeroThen = `0\r\n\r\n${smuggled}`;
  // Framing no two parsers read alike: 400 (for a transfer coding it does not
  // know a server may say 501, RFC 9112 6.1) and the connection closed. Bodies
  // are laid out so that a lenient reading answers the hidden GET (or an
  // "AAAAAGET" request), which shows as a second answer.
  const invalid = [
    ['Content-Length with Transfer-Encoding: chunked', `${P}Content-Length: ${zeroThen.length}\r\nTransfer-Encoding: chunked\r\n\r\n${zeroThen}`],
    ['Transfer-Encoding: chunked with Content-Length', `${P}Transfer-Encoding: chunked\r\nContent-Length: ${zeroThen.length}\r\n\r\n${zeroThen}`],
    ['two Content-Length, different values', `${P}Content-Length: 0\r\nContent-Length: ${n}\r\n\r\n${smuggled}`],
    ...['5x', '+5', '0x5', '-1'].map((v) => [`Content-Length: ${v}`, `${P}Content-Length: ${v}\r\n\r\nAAAAA${smuggled}`, [400], true]),
    ['Transfer-Encoding: xchunked', `${P}Transfer-Encoding: xchunked\r\n\r\n${zeroThen}`, [400, 501]],
    ['Transfer-Encoding: identity', `${P}Transfer-Encoding: identity\r\n\r\n${zeroThen}`, [400, 501]],
    ['Transfer-Encoding: chunked, identity', `${P}Transfer-Encoding: chunked, identity\r\n\r\n${zeroThen}`, [400, 501]],
    ['Content-Length : (space before the colon)', `${P}Content-Length : ${n}\r\n\r\n${smuggled}`],
  ];
  // libraryRefusal: a Content-Length that is not a number is refused by
  // libmicrohttpd 0.9.75 itself, before ferry sees the request, and its error
  // answer repeats its header block (a defect of that version, see
  // docs/design/daemon.md "Framing"): what follows may be that 400 again,
  // never another answer.
  const onlyRepeated400 = (more) => {
    const lines = more.toString('latin1').split('\r\n').filter((l) => /^HTTP\/\d/.test(l));
    return lines.every((l) => /^HTTP\/1\.1 400 /.test(l)) && !/SMUGGLED|"error"/.test(more.toString('latin1'));
  };
  const problems = await eachCase(invalid, async (name, bytes, statuses = [400], libraryRefusal = false) => {
    const { r, closed, more } = await exchange(bytes);
    assert.ok(statuses.includes(r.status), `answered ${r.statusLine}`);
    if (libraryRefusal) assert.ok(onlyRepeated400(more), `a second answer: ${preview(more)}`);
    else assert.equal(more.length, 0, `a second answer: ${preview(more)}`);
    assert.ok(closed, 'the connection stays open');
  });
  // RFC 9110 8.6 lets a server take equal Content-Length values as one, and
  // RFC 9112 5.2 lets it unfold obs-fold: then the body (the hidden request,
  // not JSON) gets 400 on a kept connection. Either way: 400, and never an
  // answer to the hidden request.
  const lenient = [
    ['two Content-Length, the same value', `${P}Content-Length: ${n}\r\nContent-Length: ${n}\r\n\r\n${smuggled}`],
    [`Content-Length: ${n}, ${n}`, `${P}Content-Length: ${n}, ${n}\r\n\r\n${smuggled}`, true],
    ['obs-fold (a header line starting with whitespace)', `${P}Content-Length: ${n}\r\nX-Folded: a\r\n b\r\n\r\n${smuggled}`],
  ];
  problems.push(...await eachCase(lenient, async (name, bytes, libraryRefusal = false) => {
    const { r, more } = await exchange(bytes);
    assert.equal(r.status, 400, `answered ${r.statusLine}`);
    if (libraryRefusal) assert.ok(onlyRepeated400(more), `a second answer: ${preview(more)}`);
    else assert.equal(more.length, 0, `a second answer: ${preview(more)}`);
  }));
  // Whitespace around a field value is no part of it (RFC 9112 5): these are
  // Content-Length 2, and the request after them is read as one. Trailing
  // white space is refused by libmicrohttpd 0.9.75 (400, closed): too strict,
  // not a hazard, so that is accepted too.
  const valid = [['Content-Length:   2 (more leading OWS)', '   2'], ['Content-Length: 2 and trailing OWS', ' 2  ', true]];
  problems.push(...await eachCase(valid, async (name, value, mayRefuse = false) => {
    const c = await Conn.open();
    c.write(`POST /api/health HTTP/1.1\r\n${host()}Content-Length:${value}\r\n\r\n{}`);
    const first = await c.response();
    if (mayRefuse && first.status === 400) {
      assert.ok(await c.closedWithin(1000), 'refused, and the connection stays open');
      c.destroy();
      return;
    }
    expectAnswer(first, K.postHealth(), name);
    c.write(get('/api/health'));
    expectAnswer(await c.response(), K.health(), `the request after it`);
    c.destroy();
  }));
  // A chunked body on a GET is a body: read and dropped (or refused with a
  // close), never a request. The GET after it must be the next answer.
  problems.push(...await eachCase([['a chunked body on a GET']], async () => {
    const c = await Conn.open();
    c.write(`GET /api/health HTTP/1.1\r\n${host()}Transfer-Encoding: chunked\r\n\r\n${n.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n${get('/api/health')}`);
    const r = await c.response();
    if (r.status === 200) {
      expectAnswer(r, K.health(), 'the GET with a body');
      if (!(await c.until(() => c.buf.length > 0, performance.now() + 1000))) assert.ok(c.closed, 'the GET after it is not answered');
      else expectAnswer(await c.response(), K.health(), 'the GET after it');
    } else {
      assert.ok(r.status >= 400 && r.status < 500, `answered ${r.statusLine}`);
      assert.ok(await c.closedWithin(500), `open after the ${r.status}`);
    }
    await c.quiet(300);
    assert.equal(c.buf.length, 0, `answered again: ${preview(c.buf)}`);
    c.destroy();
  }));
  assert.deepEqual(problems, []);
});

// ---- 5. chunked request bodies ---------------------------------------------

test('chunked bodies on POST /api/jobs: answered as with Content-Length (1 MiB limit), or 411 at once', { timeout: 60000 }, async () => {
  const head = () => `POST /api/jobs HTTP/1.1\r\n${host()}${bearer()}Transfer-Encoding: chunked\r\n\r\n`;
  const chunk = (s, ext = '') => `${Buffer.byteLength(s).toString(16).toUpperCase()}${ext}\r\n${s}\r\n`;
  const body = jobBody('chunked');
  const half = Math.floor(body.length / 2);
  const k201 = K.job('chunked');
  const cases = [
    ['one chunk', head() + chunk(body) + '0\r\n\r\n', k201],
    ['two chunks', head() + chunk(body.slice(0, half)) + chunk(body.slice(half)) + '0\r\n\r\n', k201],
    ['a chunk extension', head() + chunk(body, ';name=value') + '0;last\r\n\r\n', k201],
    ['a trailer', head() + chunk(body) + '0\r\nX-Trailer: yes\r\n\r\n', k201],
    ['the zero chunk only (no JSON: 400)', head() + '0\r\n\r\n', K.badJson()],
    // Refused by the HTTP layer: any body.
    ['a bad hex size', head() + 'zz\r\n{}\r\n0\r\n\r\n', { name: 'bad chunk size', status: 400, closes: true, ok: () => true }],
    ['17 chunks of 64 KiB (over 1 MiB)', head() + chunk('x'.repeat(65536)).repeat(17) + '0\r\n\r\n',
      { name: 'over 1 MiB', status: 413, closes: true, ok: errorIs('too_large') }],
  ];
  const seen = [];
  const problems = await eachCase(cases, async (name, bytes, k) => {
    const c = await Conn.open();
    c.write(bytes);
    const r = await c.response();
    seen.push(`${name}: ${r.status}`);
    if (r.status === 411) { // no chunked bodies: the rest of this one cannot be found
      assert.ok(await c.closedWithin(500), 'open after the 411');
    } else {
      expectAnswer(r, k, name);
      if (k.closes) assert.ok(await c.closedWithin(500), `open after the ${r.status}`);
      else {
        c.write(get('/api/health'));
        expectAnswer(await c.response(), K.health(), 'the request after it');
      }
    }
    c.destroy();
  });
  console.log(`# chunked bodies: ${seen.join(', ')}`);
  assert.deepEqual(problems, []);
});

// ---- 6. Expect: 100-continue -----------------------------------------------

test('Expect: 100-continue: 100 at once (then the answer); 413 before the body for 2 MiB', { timeout: 30000 }, async () => {
  const expect = (length) => `POST /api/jobs HTTP/1.1\r\n${host()}${bearer()}Content-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;
  // 500 ms, nothing like a stall: clients (curl) send the body anyway after 1 s.
  const problems = await eachCase([
    ['a small valid body', async () => {
      const body = jobBody('expect');
      const c = await Conn.open();
      c.write(expect(Buffer.byteLength(body)));
      const first = await c.response({ ms: 500, what: 'before the body' });
      if (first.status === 100) {
        c.write(body);
        expectAnswer(await c.response(), K.job('expect'), 'after 100 Continue');
      } else {
        // A final answer without the body can only turn the expectation down.
        assert.equal(first.status, 417, `answered ${first.statusLine} before the body`);
      }
    }],
    ['2 MiB declared', async () => {
      const c = await Conn.open();
      c.write(expect(2 * 1024 * 1024));
      const r = await c.response({ ms: 500, what: 'before the body' });
      assert.equal(r.status, 413, `answered ${r.statusLine}`);
      assert.ok(await c.closedWithin(500), 'open after the 413');
    }],
  ], (name, fn) => fn());
  assert.deepEqual(problems, []);
});

// ---- 7. HTTP/1.0 and Connection: close -------------------------------------

test('HTTP/1.0: answered then closed; with keep-alive kept if it says so; HTTP/1.1 Connection: close closes', { timeout: 30000 }, async () => {
  const health10 = (extra = '') => `GET /api/health HTTP/1.0\r\n${host()}${extra}\r\n`;
  const problems = await eachCase([
    ['HTTP/1.0', async () => {
      const c = await Conn.open();
      c.write(health10());
      const r = await c.response();
      assert.ok(r.status === 200 && r.json?.ok === true, `${r.statusLine} ${preview(r.body)}`);
      assert.ok(await c.closedWithin(500), 'open after the answer');
    }],
    ['HTTP/1.0 with Connection: keep-alive', async () => {
      const c = await Conn.open();
      c.write(health10('Connection: keep-alive\r\n'));
      const r = await c.response();
      assert.ok(r.status === 200 && r.json?.ok === true, `${r.statusLine} ${preview(r.body)}`);
      // Kept if the answer says keep-alive; else closed, or at least usable.
      const kept = /(^|,)\s*keep-alive\s*(,|$)/i.test(r.header('connection') ?? '');
      if (kept || !(await c.closedWithin(500))) {
        c.write(health10('Connection: keep-alive\r\n'));
        const r2 = await c.response();
        assert.ok(r2.status === 200 && r2.json?.ok === true, `the second request (${kept ? 'keep-alive' : 'left open'}): ${r2.statusLine}`);
      }
    }],
    ['HTTP/1.1 with Connection: close', async () => {
      const c = await Conn.open();
      c.write(get('/api/health', { head: 'Connection: close\r\n' }));
      expectAnswer(await c.response(), K.health(), 'Connection: close');
      assert.ok(await c.closedWithin(500), 'open after the answer');
    }],
  ], (name, fn) => fn());
  assert.deepEqual(problems, []);
});

// ---- 8. HEAD ------------------------------------------------------------------

test('HEAD: headers only, then the next answer on the connection parses', { timeout: 30000 }, async () => {
  const problems = await eachCase([
    ['HEAD /api/health', '/api/health', false, [200]],
    ['HEAD /', '/', false, [200]],
    ['HEAD /api/jobs', '/api/jobs', true, [200, 405]],
  ], async (name, path, token, statuses) => {
    const c = await Conn.open();
    c.write(`HEAD ${path} HTTP/1.1\r\n${host()}${token ? bearer() : ''}\r\n`);
    const r = await c.response({ head: true });
    await c.quiet(300);
    assert.equal(c.buf.length, 0, `${c.buf.length} bytes after the headers: ${preview(c.buf)}`);
    assert.ok(statuses.includes(r.status), `answered ${r.statusLine}`);
    c.write(get(path, { token }));
    const g = await c.response();
    assert.equal(g.status, 200, `the GET after it: ${g.statusLine} ${preview(g.body)}`);
    // RFC 9110 8.6: a Content-Length in a HEAD answer is the GET's.
    const cl = r.header('content-length');
    if (r.status === 200 && cl !== undefined) assert.equal(Number(cl), g.body.length, 'HEAD Content-Length vs GET body');
    c.destroy();
  });
  assert.deepEqual(problems, []);
});

// ---- 9. h2c -----------------------------------------------------------------

test('Upgrade: h2c is answered as HTTP/1.1, never 101', { timeout: 30000 }, async () => {
  const c = await Conn.open();
  c.write(get('/api/health', { head: 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n' }));
  expectAnswer(await c.response(), K.health(), 'h2c upgrade');
  c.write(get('/api/health'));
  expectAnswer(await c.response(), K.health(), 'the request after it');
});

// ---- 10. half-closed and vanishing clients ---------------------------------

test('a half-closed client gets its answer; clients gone mid-answer leave the daemon up', { timeout: 30000 }, async () => {
  for (const k of [K.health(), K.job('half-closed')]) {
    const c = await Conn.open();
    c.write(k.bytes);
    c.end(); // FIN: no more requests, the answer is still wanted
    expectAnswer(await c.response(), k, 'after the client shut its side');
    c.destroy();
  }
  // Big answers (/api/fs of 4,000 entries, /app.js): the client resets the
  // connection at once or at the first bytes of the answer.
  for (let i = 0; i < 20; i++) {
    const c = await Conn.open();
    c.write(i % 2 ? get(fsPath(), { token: true }) : get('/app.js'));
    if (i % 4 >= 2) await c.until(() => c.buf.length > 0, performance.now() + 2000);
    c.destroy();
  }
  assert.ok(await healthy(2000), 'the daemon answers after 20 clients gone mid-answer');
  assert.equal(d.proc.exitCode, null);
});

// ---- 11. WebSocket ----------------------------------------------------------

const subscribe = '{"type":"subscribe","files":false}';

test('WebSocket: handshake, hello, a ping answered with its payload, a stray pong ignored', { timeout: 30000 }, async () => {
  const c = await wsOpen();
  c.write(wsFrame(0xa, 'unsolicited')); // RFC 6455 5.5.3: no answer expected
  c.write(wsFrame(0x9, 'ping-123'));
  const pong = await c.control(0xa);
  assert.equal(pong.payload.toString(), 'ping-123');
});

test('WebSocket: a fragmented masked message with a ping between its fragments', { timeout: 30000 }, async () => {
  const c = await wsOpen();
  const [a, b, z] = [subscribe.slice(0, 10), subscribe.slice(10, 22), subscribe.slice(22)];
  c.write(Buffer.concat([
    wsFrame(0x1, a, { fin: false }),
    wsFrame(0x9, 'between'),
    wsFrame(0x0, b, { fin: false }),
    wsFrame(0x0, z),
  ]));
  const pong = await c.control(0xa);
  assert.equal(pong.payload.toString(), 'between');
  // Messages are handled in order: the first error after this is the bogus one's.
  c.write(wsFrame(0x1, '{"type":"bogus"}'));
  const early = c.skipped.map((s) => JSON.parse(s)).filter((m) => m.type === 'error');
  assert.deepEqual(early, [], 'the fragmented message was refused');
  let m;
  while ((m = await c.message()).type !== 'error');
  assert.match(m.message, /unknown/, `the fragmented message was refused: ${m.message}`);
  // ... and the subscribe took: a job's events come without its file results.
  const h = await Conn.open();
  h.write(post('/api/jobs', jobBody('ws-frag', join(t.root, 'out-ws'))));
  const job = (await h.response()).json;
  assert.ok(job?.id, 'the job was made');
  const files = [];
  for (;;) {
    const m = await c.message(5000);
    if ((m.type === 'file' && m.job_id === job.id) || (m.type === 'files' && m.job_id === job.id)) files.push(m);
    if (m.type === 'job' && m.job.id === job.id && ['done', 'failed'].includes(m.job.state)) break;
  }
  assert.deepEqual(files, [], 'file results after subscribe files:false');
});

test('WebSocket: the close handshake: close 1000 answered with a close frame, then the TCP close', { timeout: 30000 }, async () => {
  const c = await wsOpen();
  c.write(wsFrame(0x8, Buffer.concat([u16(1000), Buffer.from('bye')])));
  const code = await c.closeCode();
  assert.ok(code === 1000 || code === 1005, `close frame with ${code}`);
  assert.ok(await c.closedWithin(2000), 'TCP connection open 2 s after the close handshake');
});

// A frame the server must refuse: a close frame with one of `codes`; once the
// client answers it, the server closes the TCP connection (RFC 6455 5.5.1).
async function wsRefuses(bytes, codes) {
  const c = await wsOpen();
  c.write(bytes);
  const code = await c.closeCode();
  assert.ok(code !== null, 'the TCP connection ended without a close frame');
  assert.ok(codes.includes(code), `close code ${code}, want ${codes.join(' or ')}`);
  c.write(wsFrame(0x8, u16(code)));
  assert.ok(await c.closedWithin(2000), 'TCP connection open 2 s after the close handshake');
}

test('WebSocket: an unmasked client frame: close 1002', { timeout: 30000 },
  () => wsRefuses(wsFrame(0x1, '{"type":"bogus"}', { mask: false }), [1002]));
test('WebSocket: invalid UTF-8 in a text frame: close 1007', { timeout: 30000 },
  () => wsRefuses(wsFrame(0x1, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), [1007]));
test('WebSocket: a reserved opcode (0x3): close 1002', { timeout: 30000 },
  () => wsRefuses(wsFrame(0x3, 'x'), [1002]));
test('WebSocket: RSV1 set without an extension: close 1002', { timeout: 30000 },
  () => wsRefuses(wsFrame(0x1, '{"type":"bogus"}', { rsv: 4 }), [1002]));

test('WebSocket: a message over 64 KiB (one frame, or fragments) closes the connection', { timeout: 30000 }, async () => {
  const filler = (n) => JSON.stringify({ type: 'bogus', pad: 'x'.repeat(n) });
  const problems = await eachCase([
    ['one frame of 70,000 bytes', wsFrame(0x1, filler(70000))],
    ['two fragments of 40,000 bytes', Buffer.concat([wsFrame(0x1, filler(80000).slice(0, 40000), { fin: false }), wsFrame(0x0, filler(80000).slice(40000))])],
  ], async (name, bytes) => {
    const c = await wsOpen();
    c.write(bytes);
    const code = await c.closeCode();
    assert.ok(code === null || code >= 1002, `close code ${code}`);
    if (code !== null) c.write(wsFrame(0x8, u16(code)));
    assert.ok(await c.closedWithin(2000), 'TCP connection still open');
  });
  assert.deepEqual(problems, []);
});

test('WebSocket: {"type":"bogus"} gets an error message, the connection stays', { timeout: 30000 }, async () => {
  const c = await wsOpen();
  c.write(wsFrame(0x1, '{"type":"bogus"}'));
  let m;
  while ((m = await c.message()).type !== 'error');
  assert.match(m.message, /unknown/);
  c.write(wsFrame(0x9, 'still'));
  assert.equal((await c.control(0xa)).payload.toString(), 'still');
});

// ---- 12. odd request lines --------------------------------------------------

test('an unknown method: 4xx/501, then usable or closed; HTTP/2.0 and garbage: 4xx/505 and closed', { timeout: 30000 }, async () => {
  const problems = await eachCase([['BREW / HTTP/1.1']], async () => {
    const c = await Conn.open();
    c.write(`BREW / HTTP/1.1\r\n${host()}\r\n`);
    const r = await c.response();
    assert.ok((r.status >= 400 && r.status < 500) || r.status === 501, `answered ${r.statusLine}`);
    if (!(await c.closedWithin(300))) {
      c.write(get('/api/health'));
      expectAnswer(await c.response(), K.health(), 'the request after it');
    }
    c.destroy();
  });
  const garbage = [
    ['GET /api/health HTTP/2.0', `GET /api/health HTTP/2.0\r\n${host()}\r\n`],
    ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['a line of words', 'hello daemon, how are you\r\n\r\n'],
    ['a TLS ClientHello', Buffer.concat([Buffer.from([0x16, 3, 1, 0, 0xc8, 1, 0, 0, 0xc4, 3, 3]), Buffer.alloc(40, 0xab), Buffer.from('\r\n\r\n')]), true],
    ['GET / HTTP/1.1 and a fourth word', `GET / HTTP/1.1 extra\r\n${host()}\r\n`],
  ];
  problems.push(...await eachCase(garbage, async (name, bytes, silent = false) => {
    if (silent) { // no HTTP at all: closing without a word is as good as a 400
      const c = await Conn.open();
      c.write(bytes);
      assert.ok(await c.closedWithin(2000) || (await c.response()).status === 400, 'neither closed nor refused');
      c.destroy();
      return;
    }
    const { r, closed, more } = await exchange(bytes);
    assert.ok((r.status >= 400 && r.status < 500) || r.status === 505, `answered ${r.statusLine}`);
    assert.equal(more.length, 0, `more after it: ${preview(more)}`);
    assert.ok(closed, 'the connection stays open');
  }));
  assert.deepEqual(problems, []);
});

// ---- the end ------------------------------------------------------------------

test('SIGTERM stops the daemon within 5 s', { timeout: 30000 }, async () => {
  stopped = true;
  const { code, ms, killed } = await stopWithin(d, 5000);
  console.log(`# SIGTERM: ${killed ? 'still running after 5 s, killed' : `exit ${code} after ${ms.toFixed(0)} ms`}`);
  assert.ok(!killed, 'the daemon ignored SIGTERM for 5 s (killed)');
  assert.ok(ms < 5000, `stopped after ${ms.toFixed(0)} ms`);
  assert.equal(code, 0, `exit ${code}:\n${d.stderr().slice(-2000)}`);
});
