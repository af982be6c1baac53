// tests/system/flood.child.mjs: many hostile or numerous clients in a process
// of their own, so that the test can give it the open-file limit it needs
// (hostile.test.mjs starts it under `ulimit -n`).
//
//   node flood.child.mjs PORT KIND N [TOKEN]
//   KIND: trickle  request headers, one byte every 300 ms, never finished
//         silent   connect and send nothing
//         ws       WebSocket clients with the token, counting what they get
//
// Prints one JSON line when every socket is connected (or failed), then one
// per command read on stdin: "report" (what each got and when it was closed)
// and "exit" (closes everything and exits).
import net from 'node:net';
import readline from 'node:readline';
import WebSocket from 'ws';

const [port, kind, nstr, token] = process.argv.slice(2);
const n = Number(nstr);
const t0 = performance.now();
const closedAt = [];
let failed = 0;
let opened = 0;
const socks = [];
const got = { hello: 0, job: 0, file: 0, other: 0, clientsWithJobs: 0 };
const perClientJobs = [];

function trickle(s) {
  const head = `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: ${'z'.repeat(4000)}\r\n\r\n`;
  let k = 0;
  const timer = setInterval(() => {
    if (s.destroyed) return clearInterval(timer);
    s.write(head[k++ % head.length]);
  }, 300);
}

function openSocket(i) {
  return new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    socks.push(s);
    s.on('connect', () => { opened++; if (kind === 'trickle') trickle(s); resolve(); });
    s.on('error', () => { failed++; resolve(); });
    s.on('close', () => closedAt.push(performance.now() - t0));
    s.on('data', () => {});
    void i;
  });
}

function openWs(i) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events?token=${token}`);
    socks.push(ws);
    perClientJobs[i] = 0;
    let settled = false;
    const done = () => { if (!settled) { settled = true; resolve(); } };
    ws.on('open', () => { opened++; });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'hello') { got.hello++; done(); } else if (m.type === 'job') { got.job++; perClientJobs[i]++; } else if (m.type === 'file') got.file++;
      else got.other++;
    });
    ws.on('error', () => { failed++; done(); });
    ws.on('unexpected-response', () => { failed++; done(); });
    ws.on('close', () => { closedAt.push(performance.now() - t0); done(); });
  });
}

const pending = [];
for (let i = 0; i < n; i++) {
  pending.push(kind === 'ws' ? openWs(i) : openSocket(i));
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // not all in one burst
}
await Promise.all(pending);
console.log(JSON.stringify({ event: 'ready', opened, failed, ms: performance.now() - t0 }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'report') {
    got.clientsWithJobs = perClientJobs.filter((x) => x > 0).length;
    console.log(JSON.stringify({ event: 'report', opened, failed, closed: closedAt.length, closedAt, got }));
  } else if (line === 'exit') {
    for (const s of socks) (s.terminate ?? s.destroy).call(s);
    process.exit(0);
  }
});
