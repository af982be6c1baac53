// bench/daemon/poller.child.mjs PORT TOKEN: the API poller of the daemon
// benchmarks, in a process of its own so that its timings are the API's, not
// the delays of a busy event loop (in the benchmark's process, which also
// takes the WebSocket's events and times the job, its p99 was 2x to 4x
// this one's). IPC: {poll: PATH, every: MS} starts a GET of PATH every MS on
// one keep-alive connection; {stop: true} answers {lat: [ms, ...], bad: N}
// (N answers that were not 200) and waits for the next {poll}.
import { rawClient } from './lib.mjs';

const http = rawClient(Number(process.argv[2]), process.argv[3]);
let run = null;

async function poll(path, every, state) {
  for (let next = performance.now(); !state.stop; next += every) {
    const a = await http.request('GET', path);
    if (a.status === 200) state.lat.push(a.ms);
    else state.bad++;
    const wait = next + every - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

process.on('message', async (m) => {
  if (m.poll) {
    const state = { stop: false, lat: [], bad: 0 };
    run = { state, done: poll(m.poll, m.every ?? 50, state) };
  } else if (m.stop && run) {
    run.state.stop = true;
    await run.done;
    process.send({ lat: run.state.lat, bad: run.state.bad });
    run = null;
  } else if (m.exit) {
    http.close();
    process.exit(0);
  }
});
process.send({ ready: true });
