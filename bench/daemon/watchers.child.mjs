// bench/daemon/watchers.child.mjs PORT TOKEN N [ui|file|batch|paused]: N WebSocket clients of
// the daemon, in their own process so that their work does not delay the
// timings of the parent (watchers.bench.mjs). Each client reads and parses
// every message it gets: by default every per-file result too (the default
// subscription); with `ui`, job events only, as the web UI and `ferry watch`
// subscribe; with `batch`, every result in "files" messages of many; with
// `paused`, every result too, but unread until the stop (the daemon's work
// alone: its frames wait in the sockets' buffers). IPC: sends {ready} once every client got its hello; on {stop: ID}
// waits until every client has seen job ID end, then sends per-client counts
// and closes.
import WebSocket from 'ws';

const [port, token, n] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const kind = process.argv[5] || 'file';
const ui = kind === 'ui';
const clients = [];
for (let i = 0; i < n; i++) {
  const c = { msgs: 0, files: 0, bytes: 0, closeCode: null, ended: new Map(), hello: false };
  c.ws = new WebSocket(`ws://127.0.0.1:${port}/api/events?token=${token}`);
  c.ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    c.msgs++;
    c.bytes += data.length;
    if (m.type === 'hello') {
      if (kind === 'ui' || kind === 'batch') c.ws.send(JSON.stringify({ type: 'subscribe', files: ui ? false : 'batch' }));
      if (kind === 'paused') c.ws._socket.pause();
      c.hello = true;
    }
    else if (m.type === 'file') c.files++;
    else if (m.type === 'files') c.files += m.files.length;
    else if (m.type === 'job' && ['done', 'failed', 'cancelled'].includes(m.job.state) && !c.ended.has(m.job.id))
      c.ended.set(m.job.id, performance.timeOrigin + performance.now());
  });
  c.ws.on('close', (code) => { c.closeCode = code; });
  c.ws.on('error', (e) => { c.error = String(e); });
  clients.push(c);
}

const poll = (pred) => new Promise((resolve) => {
  const t = setInterval(() => { if (pred()) { clearInterval(t); resolve(); } }, 5);
});
await poll(() => clients.every((c) => c.hello || c.error || c.closeCode !== null));
process.send({ ready: clients.filter((c) => c.hello).length });

process.on('message', async (m) => {
  if (!m.stop) return;
  const id = m.stop;
  if (kind === 'paused') for (const c of clients) c.ws._socket.resume();
  const deadline = Date.now() + 60000;
  await poll(() => Date.now() > deadline || clients.every((c) => c.ended.has(id) || c.closeCode !== null));
  process.send({
    counts: clients.map((c) => ({ msgs: c.msgs, files: c.files, bytes: c.bytes, closeCode: c.closeCode, error: c.error, endedAt: c.ended.get(id) ?? null })),
  });
  for (const c of clients) c.ws.close();
  setTimeout(() => process.exit(0), 200);
});
