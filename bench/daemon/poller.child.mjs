// bench/daemon/poller.child.mjs PORT TOKEN: the API poller of the daemon
// benchmarks, in a process of its own that paces the GETs, timed by
// ferry-rtclient (bench/rtclient.c) so that the figures are the API's, not
// the delays of a busy event loop. IPC: {poll: PATH, every: MS} starts a
// GET of PATH every MS on one keep-alive connection; {stop: true} answers
// {lat: [ms, ...], kernel: [ms, ...], bad: N} (N answers that were not 200)
// and waits for the next {poll}.
import { rtClient } from './lib.mjs';

const http = rtClient(Number(process.argv[2]), process.argv[3]);
let run = null;

async function poll(path, every, state) {
  for (let next = performance.now(); !state.stop; next += every) {
    const a = await http.request('GET', path);
    if (a.status !== 200) {
      state.bad++;
    } else {
      state.lat.push(a.ms);
      if (a.kernelMs !== null) state.kernel.push(a.kernelMs);
    }
    const wait = next + every - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

process.on('message', async (m) => {
  if (m.poll) {
    const state = { stop: false, lat: [], kernel: [], bad: 0 };
    run = { state, done: poll(m.poll, m.every ?? 50, state) };
  } else if (m.stop && run) {
    run.state.stop = true;
    await run.done;
    process.send({ lat: run.state.lat, kernel: run.state.kernel, bad: run.state.bad });
    run = null;
  } else if (m.exit) {
    http.close();
    process.exit(0);
  }
});
process.send({ ready: true });
