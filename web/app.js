// ferry's web UI: plain JavaScript over the documented API (docs/api.md).
//
// Freshness: the WebSocket is the one ordered stream of news. On every
// (re)connection the page first takes a snapshot with GET /api/jobs, then
// opens the socket, whose hello and events are all newer than the snapshot.
// Any other HTTP answer about a job (a cancel, a resume) is applied only when
// no WebSocket news about that job arrived while it was on its way.
//
// Every name that comes from the server (paths, tags, errors) is shown with
// textContent, never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const PAGE_ROWS = 200;   // job rows rendered at a time ("Show more")
const FILE_ROWS = 200;   // per-file results per page in the detail
const CANCEL_FALLBACK_MS = 1500; // no answer over the socket: cancel over HTTP

const state = {
  token: null,
  jobs: new Map(),        // id -> job object
  version: new Map(),     // id -> count of WebSocket updates (see above)
  rows: new Map(),        // id -> rendered row element
  shown: PAGE_ROWS,
  ws: null,
  backoff: 250,
  retryTimer: null,
  renderQueued: false,
  pendingCancel: new Map(), // id -> performance.now() of the click
  causes: new Map(), // id -> the common cause of a failed job's files (loadCause)
  failedBytes: new Map(), // id -> the bytes of its failed files (loadCause)
  detail: { id: null, offset: 0, timer: null, retries: 0, lastLoad: 0 },
  roots: null,
};

// ---- formatting ----------------------------------------------------------------
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
function bytes(n) {
  let v = Number(n) || 0, i = 0;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${UNITS[i]}`;
}
function duration(s) {
  if (s === null || s === undefined || s < 0) return '–';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}
function when(iso) { return iso ? new Date(iso).toLocaleString() : '–'; }
const count = (n) => Number(n || 0).toLocaleString('en-US');
function percent(job) {
  if (job.bytes_total > 0) return Math.min(100, Math.floor((job.bytes_done * 100) / job.bytes_total));
  if (job.files_total > 0) return Math.min(100, Math.floor((finished(job) * 100) / job.files_total));
  return job.state === 'done' ? 100 : 0;
}
const finished = (job) => job.files_done + job.files_skipped + job.files_failed;
const live = (s) => s === 'queued' || s === 'running';
const resumable = (s) => s === 'interrupted' || s === 'cancelled';
const baseName = (p) => p.replace(/\/+$/, '').split('/').pop() || p;
// Messages for screen readers. Several in one moment (a cancel of many jobs)
// are one announcement, not each overwriting the last; while the job detail
// is open (a modal dialog: the rest of the page is inert) the region lives
// inside it, so that cancels and ends are still heard.
let spoken = null;
function announce(text) {
  if (!spoken) {
    spoken = [];
    setTimeout(() => { spoken = null; }, 100);
  }
  spoken.push(text);
  $('announce').textContent = spoken.join('. ');
}
function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
function text(tag, cls, t) { const e = el(tag, cls); e.textContent = t; return e; }

// ---- API -------------------------------------------------------------------------
// Resolves { status, json }; status 0 when the daemon cannot be reached.
async function api(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${state.token}` } };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  let r;
  try { r = await fetch(path, init); } catch { return { status: 0, json: null }; }
  let json = null;
  try { json = await r.json(); } catch { /* empty */ }
  if (r.status === 401) needToken('The token in this link was refused: ferry serve may have been restarted with a new one.');
  return { status: r.status, json };
}

function needToken(detail) {
  $('app').hidden = true;
  $('need-token').hidden = false;
  $('token-detail').textContent = detail || '';
  $('connection').hidden = true;
  clearTimeout(state.retryTimer);
  state.token = null;
  sessionStorage.removeItem('ferry-token');
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
}

// An HTTP answer about a job: applied unless the socket brought news of the
// job since the request left (that news is at least as fresh).
async function jobRequest(method, path, id) {
  const v = state.version.get(id) || 0;
  const r = await api(method, path);
  if (r.json && r.json.id === id && (state.version.get(id) || 0) === v) upsert(r.json);
  return r;
}

// ---- job rows ------------------------------------------------------------------
function makeRow(id) {
  const li = el('li', 'job', { 'data-testid': 'job-row', 'data-job-id': id });
  const title = el('div', 'job-title', { id: `job-title-${id}` });
  const badge = el('span', 'badge', { 'data-testid': 'job-state' });
  const what = el('span', 'job-what');
  const tag = el('span', 'tagname');
  title.append(badge, what, tag);
  const actions = el('div', 'job-actions');
  const details = el('button', 'link', { type: 'button', 'data-testid': 'details-button', 'aria-describedby': title.id });
  details.textContent = 'Details';
  details.addEventListener('click', () => openDetail(id, details));
  const resume = el('button', '', { type: 'button', 'data-testid': 'resume-button', 'aria-describedby': title.id });
  resume.textContent = 'Resume';
  // The pressed button is disabled, then hidden with the state: the focus it
  // had goes to the row's next button (updateRow), not to the page.
  resume.addEventListener('click', () => { li._parts.refocus = document.activeElement === resume; resumeJob(id, resume); });
  const cancel = el('button', 'danger', { type: 'button', 'data-testid': 'cancel-button', 'aria-describedby': title.id });
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => { li._parts.refocus = document.activeElement === cancel; cancelJob(id, cancel); });
  actions.append(details, resume, cancel);
  const bar = el('div', 'bar', { role: 'progressbar', 'data-testid': 'job-progress', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', 'aria-label': `Progress of job ${id}` });
  bar.append(el('div'));
  const stats = el('div', 'stats', { 'data-testid': 'job-stats' });
  const current = el('div', 'current', { 'data-testid': 'job-current' });
  const error = el('div', 'joberror');
  const note = el('div', 'jobnote', { 'data-testid': 'job-note' });
  li.append(title, actions, bar, stats, current, error, note);
  li._parts = { badge, what, tag, details, cancel, resume, bar, fill: bar.firstChild, stats, current, error, note, state: null };
  return li;
}

function updateRow(li, job) {
  const p = li._parts, pct = percent(job);
  li.dataset.state = job.state;
  p.badge.textContent = job.state;
  p.badge.dataset.state = job.state;
  const sources = job.sources || [];
  p.what.textContent = `${sources.slice(0, 3).map(baseName).join(', ')}${sources.length > 3 ? ` +${sources.length - 3}` : ''} → ${job.dest || ''}`;
  p.what.title = `${sources.join('\n')}\n→ ${job.dest || ''}`;
  p.tag.textContent = job.tag ? `#${job.tag}` : '';
  p.bar.setAttribute('aria-valuenow', String(pct));
  p.bar.setAttribute('aria-valuetext', `${bytes(job.bytes_done)} of ${bytes(job.bytes_total)}, ${pct}%`);
  p.fill.style.width = `${pct}%`;
  const parts = [`${bytes(job.bytes_done)} / ${bytes(job.bytes_total + (state.failedBytes.get(job.id) || 0))}`, `${count(job.files_done + job.files_skipped)}/${count(job.files_total)} files`];
  if (job.files_skipped) parts.push(`${count(job.files_skipped)} skipped`);
  if (job.files_failed) parts.push(`${count(job.files_failed)} failed`);
  if (job.files_not_attempted) parts.push(`${count(job.files_not_attempted)} not attempted`);
  if (job.state === 'running') parts.push(`${bytes(job.rate_bps)}/s`, `ETA ${duration(job.eta_s)}`);
  if (job.cancel_latency_us !== null && job.cancel_latency_us !== undefined) parts.push(`stopped in ${(job.cancel_latency_us / 1000).toFixed(1)} ms`);
  p.stats.replaceChildren(...parts.map((t) => text('span', '', t)));
  p.current.textContent = job.state === 'running' && job.current_file ? job.current_file : '';
  p.error.textContent = job.error || '';
  p.note.textContent = noteOf(job);
  if (p.state !== job.state) {
    // The buttons change only with the state, so that a progress tick never
    // re-enables a Cancel that was just clicked.
    p.state = job.state;
    p.cancel.hidden = !live(job.state);
    p.cancel.disabled = !live(job.state);
    p.cancel.textContent = 'Cancel';
    p.resume.hidden = !resumable(job.state);
    p.resume.disabled = false;
    if (p.refocus && (document.activeElement === document.body || document.activeElement === p.cancel ||
                      document.activeElement === p.resume)) {
      p.refocus = false;
      (!p.cancel.hidden ? p.cancel : !p.resume.hidden ? p.resume : p.details).focus();
    }
  }
}

// What an ended job left, in the words its user needs: what was kept, that
// nothing partial was, how to go on; for failures, their common cause.
function noteOf(job) {
  const kept = job.files_done + job.files_skipped;
  if (job.state === 'cancelled' || job.state === 'interrupted') {
    const what = kept ? `Kept ${count(kept)} of ${count(job.files_total)} files (${bytes(job.bytes_done)})` : 'Nothing kept';
    return `${what}; no partial file left. Resume copies the rest.`;
  }
  if (job.state === 'failed' && job.files_failed) {
    const cause = state.causes.get(job.id);
    if (cause === undefined) { loadCause(job.id); return ''; }
    return cause;
  }
  return '';
}

// The most common cause among a failed job's files (the errno text ends each
// message), with one whole message as its example.
async function loadCause(id, tries = 0) {
  state.causes.set(id, '');
  const r = await api('GET', `/api/jobs/${encodeURIComponent(id)}/files?state=failed&limit=500`);
  if (r.status !== 200 || !r.json.files.length) {
    // Results reach the journal in groups every ~100 ms: the last may not be there yet.
    if (tries < 5) setTimeout(() => loadCause(id, tries + 1), 250);
    return;
  }
  const by = new Map();
  for (const f of r.json.files) {
    const msg = f.error || 'failed';
    const cause = msg.slice(msg.lastIndexOf(': ') + 2) || msg;
    const e = by.get(cause) || { n: 0, example: msg };
    e.n++;
    by.set(cause, e);
  }
  const [cause, e] = [...by.entries()].sort((a, b) => b[1].n - a[1].n)[0];
  const job = state.jobs.get(id);
  const n = job ? job.files_failed : e.n;
  // A failed file's bytes leave the job's total: said here, and added back to the row's size.
  const lost = r.json.files.reduce((sum, f) => sum + (f.bytes || 0), 0);
  state.failedBytes.set(id, lost);
  const listed = r.json.files.length < n ? ` of the first ${count(r.json.files.length)}` : '';
  state.causes.set(id, `${count(n)} ${n === 1 ? 'file' : 'files'} failed (${bytes(lost)}${listed ? ' at least' : ''}): ${cause}${e.n < n ? ` (${count(e.n)}${listed})` : ''}, e.g. ${e.example}`);
  const li = state.rows.get(id);
  if (li && job) updateRow(li, job);
}

function sortedIds() {
  return [...state.jobs.values()]
    .sort((a, b) => (b.created_at || '').localeCompare(a.created_at || '') || b.id.localeCompare(a.id))
    .map((j) => j.id);
}

// The list's filters: a state (or "live") and text found in the tag, a
// path or the id.
function filtered(ids) {
  const st = $('state-filter').value, q = $('job-filter').value.trim().toLowerCase();
  if (!st && !q) return ids;
  return ids.filter((id) => {
    const j = state.jobs.get(id);
    if (st && (st === 'live' ? !live(j.state) : j.state !== st)) return false;
    return !q || [j.id, j.tag || '', j.dest || '', ...(j.sources || [])].some((x) => x.toLowerCase().includes(q));
  });
}

// Renders the newest `shown` jobs. Rows are kept, so a progress tick touches
// only its own row (upsert), and a long list costs one sort per new job.
function render() {
  state.renderQueued = false;
  const list = $('jobs');
  const all = sortedIds(), ids = filtered(all);
  const visible = ids.slice(0, state.shown);
  const keep = new Set(visible);
  $('jobs-empty').hidden = ids.length > 0;
  $('jobs-empty').textContent = all.length ? 'No job matches.' : 'No jobs yet.';
  $('jobs-count').textContent = !all.length ? '' : ids.length === all.length ? `(${count(all.length)})` : `(${count(ids.length)} of ${count(all.length)})`;
  $('more-jobs').hidden = ids.length <= state.shown;
  $('more-jobs').textContent = `Show ${Math.min(PAGE_ROWS, ids.length - state.shown)} more jobs (${count(ids.length - state.shown)} not shown)`;
  for (const [id, li] of state.rows) {
    if (!keep.has(id)) { li.remove(); state.rows.delete(id); }
  }
  let before = list.firstChild;
  for (const id of visible) {
    let li = state.rows.get(id);
    if (!li) { li = makeRow(id); state.rows.set(id, li); updateRow(li, state.jobs.get(id)); }
    if (li !== before) list.insertBefore(li, before);
    else before = before.nextSibling;
  }
}

function renderSoon() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(render);
}

function upsert(job) {
  const old = state.jobs.get(job.id);
  state.jobs.set(job.id, job);
  if (old && old.state !== job.state) {
    announce(`Job ${job.id} ${job.state}${job.error ? ': ' + job.error : ''}`);
    const t0 = state.pendingCancel.get(job.id);
    if (t0 !== undefined && job.state === 'cancelled') {
      // For the curious (and the browser tests): the answer, then the frame showing it.
      const ms = performance.now() - t0;
      requestAnimationFrame(() => console.log(`ferry: click to cancelled ${ms.toFixed(1)} ms (on screen ${(performance.now() - t0).toFixed(1)} ms)`));
    }
  }
  if (!live(job.state)) state.pendingCancel.delete(job.id);
  const li = state.rows.get(job.id);
  if (li) updateRow(li, job);
  if (!old || (old.state !== job.state && $('state-filter').value)) renderSoon();
  if (state.detail.id === job.id) detailUpdate(job, old);
}

// Replaces the whole list with a snapshot (GET /api/jobs).
function replaceAll(jobs) {
  const fresh = new Map(jobs.map((j) => [j.id, j]));
  for (const [id, li] of state.rows) {
    if (!fresh.has(id)) { li.remove(); state.rows.delete(id); }
  }
  state.jobs = fresh;
  for (const [id, li] of state.rows) updateRow(li, fresh.get(id));
  render();
}

// ---- cancel and resume ------------------------------------------------------------
function cancelJob(id, button) {
  if (button.disabled) return; // a double click is harmless
  button.disabled = true;
  button.textContent = 'Cancelling…';
  state.pendingCancel.set(id, performance.now());
  const ws = state.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: 'cancel', id }));
    // A socket can look open and be dead (a sleeping laptop, a proxy): with no
    // answer soon, the cancel goes over HTTP too. A cancel is idempotent.
    setTimeout(() => {
      const j = state.jobs.get(id);
      if (state.pendingCancel.has(id) && j && live(j.state)) cancelOverHttp(id, button);
    }, CANCEL_FALLBACK_MS);
    return;
  }
  cancelOverHttp(id, button);
}

async function cancelOverHttp(id, button) {
  const r = await jobRequest('POST', `/api/jobs/${encodeURIComponent(id)}/cancel`, id);
  const j = state.jobs.get(id);
  // 409: the job ended first; its state is on its way. Anything else: try again.
  if (r.status !== 200 && r.status !== 409 && j && live(j.state)) {
    state.pendingCancel.delete(id);
    button.disabled = false;
    button.textContent = 'Cancel';
    announce(`Job ${id} could not be cancelled: ${r.json && r.json.error ? r.json.error.message : 'ferry serve cannot be reached'}`);
  }
}

async function resumeJob(id, button) {
  if (button.disabled) return;
  button.disabled = true;
  const r = await jobRequest('POST', `/api/jobs/${encodeURIComponent(id)}/resume`, id);
  if (r.status !== 200) {
    button.disabled = false;
    announce(`Job ${id} could not resume${r.json && r.json.error ? ': ' + r.json.error.message : ''}`);
  }
}

// Cancels the running and queued jobs with a tag, or all of them (tag
// null), after a confirmation that says how many; says what it did, and
// when nothing matched, that nothing did.
async function cancelMany(tag) {
  const tagged = tag === null ? '' : ` tagged "${tag}"`;
  const n = [...state.jobs.values()].filter((j) => (tag === null || j.tag === tag) && live(j.state)).length;
  $('cancel-result').textContent = '';
  if (n === 0) {
    $('cancel-result').textContent = tag === null ? 'No job is running or queued.' : `No running or queued job is tagged "${tag}".`;
    return;
  }
  const question = n === 1 ? `Cancel the running or queued job${tagged}?` : `Cancel all ${count(n)} running or queued jobs${tagged}?`;
  if (!window.confirm(question)) return;
  const wasOpen = state.ws && state.ws.readyState === WebSocket.OPEN;
  const r = await api('POST', '/api/cancel', tag === null ? { all: true } : { tag });
  if (r.status !== 200) { $('cancel-result').textContent = 'The cancel failed: ferry serve did not answer.'; return; }
  const k = r.json.cancelled.length;
  $('cancel-result').textContent = k ? `${count(k)} ${k === 1 ? 'job' : 'jobs'} cancelled.` : 'Nothing was left to cancel.';
  // With the socket open, every cancelled job's new state is on its way.
  if (!wasOpen) {
    const l = await api('GET', tag === null ? '/api/jobs' : `/api/jobs?tag=${encodeURIComponent(tag)}`);
    if (l.status === 200) for (const j of l.json.jobs) upsert(j);
  }
}

function cancelTag() {
  const tag = $('cancel-tag').value.trim();
  if (!tag) {
    $('cancel-result').textContent = 'Type the tag of the jobs to cancel.';
    $('cancel-tag').focus();
    return;
  }
  cancelMany(tag);
}

// ---- the new-copy form ---------------------------------------------------------
const FIELDS = ['sources', 'dest', 'tag', 'on_conflict', 'bwlimit', 'frames', 'renumber', 'pad'];
const INPUTS = { sources: () => [...document.querySelectorAll('#source-list input')], dest: () => [$('dest')], tag: () => [$('tag')], on_conflict: () => [$('on-conflict')], bwlimit: () => [$('bwlimit')], frames: () => [$('frames')], renumber: () => [$('renumber')], pad: () => [$('pad')] };
// The API names a field as its JSON does ("sources[1]: ..."); the form says
// it as its label does ("Source 2: ...").
const FIELD_WORDS = { dest: 'Destination', tag: 'Tag', on_conflict: 'If a different file exists', bwlimit: 'Bandwidth limit', frames: 'Frames', renumber: 'Renumber from', pad: 'Digits' };
function inWords(message) {
  return message.replace(/^sources\[(\d+)\]/, (_, i) => `Source ${Number(i) + 1}`)
    .replace(/^sources\b/, 'Sources')
    .replace(/^(dest|tag|on_conflict|bwlimit|frames|renumber|pad)\b/, (f) => FIELD_WORDS[f]);
}

function showErrors(message) {
  for (const f of FIELDS) {
    $(`${f}-error`).textContent = '';
    for (const i of INPUTS[f]()) i.removeAttribute('aria-invalid');
  }
  $('form-error').textContent = '';
  if (!message) return;
  const field = FIELDS.find((f) => message.startsWith(f));
  if (!field) { $('form-error').textContent = message; return; }
  $(`${field}-error`).textContent = inWords(message);
  const m = /^sources\[(\d+)\]/.exec(message);
  const filled = INPUTS[field]().filter((i) => field !== 'sources' || i.value.trim());
  const inputs = filled.length ? filled : INPUTS[field]();
  const bad = m ? inputs[Number(m[1])] : inputs[0];
  if (bad) { bad.setAttribute('aria-invalid', 'true'); bad.focus(); }
}

async function submitForm(ev) {
  ev.preventDefault();
  const sources = [...document.querySelectorAll('#source-list input')].map((i) => i.value.trim()).filter(Boolean);
  // What is missing is said here, in words, on the field: nothing is sent.
  if (!sources.length) { showErrors('sources: give at least one file or directory to copy'); return; }
  if (!$('dest').value.trim()) { showErrors('dest: give the directory to copy into'); return; }
  const body = { sources, dest: $('dest').value.trim(), on_conflict: $('on-conflict').value, fsync: $('fsync').checked };
  if ($('tag').value.trim()) body.tag = $('tag').value.trim();
  if (!$('seq-options').hidden) {
    if ($('frames').value.trim()) body.frames = $('frames').value.trim();
    for (const f of ['renumber', 'pad']) {
      const v = $(f).value.trim();
      if (!v) continue;
      if (!/^\d+$/.test(v)) { showErrors(`${f}: a whole number`); return; }
      body[f] = Number(v);
    }
    if ($('keep-step').checked && body.renumber !== undefined) body.keep_step = true;
    if ($('check-exr').checked) body.check_exr = true;
  }
  if ($('bwlimit').value.trim()) body.bwlimit = $('bwlimit').value.trim();
  const button = document.querySelector('[data-testid="start-button"]');
  // Busy, not disabled: a disabled button drops the focus to the page.
  if (button.getAttribute('aria-disabled') === 'true') return;
  button.setAttribute('aria-disabled', 'true');
  try {
    const r = await api('POST', '/api/jobs', body);
    if (r.status === 201) {
      showErrors(null);
      // The WebSocket may have told of this job (even its end) already.
      if (!state.jobs.has(r.json.id)) upsert(r.json);
      announce(`Job ${r.json.id} started`);
    } else if (r.json && r.json.error) {
      showErrors(r.json.error.message);
    } else if (r.status === 0) {
      showErrors('ferry serve cannot be reached; the copy was not started.');
    }
  } finally {
    button.removeAttribute('aria-disabled');
  }
}

function addSource() {
  const list = $('source-list');
  const input = el('input', 'source', { spellcheck: 'false', autocomplete: 'off', list: 'path-suggestions', 'aria-label': `Source ${list.children.length + 1}`, 'aria-describedby': 'sources-error' });
  list.append(input);
  input.focus();
}

// Path completion from GET /api/fs: the directory typed so far, beneath the
// roots; above them, the roots themselves.
let completeTimer = null;
function complete(ev) {
  const t = ev.target;
  if (!(t instanceof HTMLInputElement) || t.getAttribute('list') !== 'path-suggestions') return;
  clearTimeout(completeTimer);
  completeTimer = setTimeout(() => suggest(t.value), 150);
}

async function roots() {
  if (!state.roots) {
    const r = await api('GET', '/api/fs');
    if (r.status !== 200) return [];
    state.roots = r.json.entries.map((e) => e.name);
  }
  return state.roots;
}

async function suggest(value) {
  const dir = value.includes('/') ? value.slice(0, value.lastIndexOf('/')) || '/' : '';
  let paths = [];
  // Only a directory beneath a root is asked for: above them (typing "/"),
  // the roots are the suggestions, and no request is refused.
  const beneath = (await roots()).some((root) => dir === root.replace(/\/+$/, '') || dir.startsWith(`${root.replace(/\/+$/, '')}/`));
  const r = dir && beneath ? await api('GET', `/api/fs?path=${encodeURIComponent(dir)}`) : { status: 403 };
  if (r.status === 200) {
    const base = r.json.path.replace(/\/+$/, '');
    // A sequence is one suggestion: its pattern, with its frames as the label.
    paths = r.json.entries.map((e) => ({
      value: `${base}/${e.name}${e.type === 'd' ? '/' : ''}`,
      label: e.type === 's' ? `${e.frames} (${count(e.count)} frames${e.missing ? `, missing ${e.missing}` : ''})` : '',
    }));
  } else {
    paths = (await roots()).map((p) => ({ value: `${p.replace(/\/+$/, '')}/`, label: '' }));
  }
  const opts = paths.filter((p) => p.value.startsWith(value)).slice(0, 200).map((p) => {
    const o = document.createElement('option');
    o.value = p.value;
    if (p.label) o.label = p.label;
    return o;
  });
  $('path-suggestions').replaceChildren(...opts);
}

// A source that names frames (comp.####.exr, comp.@.exr, comp.%04d.exr,
// comp.$F4.exr) shows the sequence options.
const PATTERN = /#|@|%0?\d*d|\$F\d?/;
function showSeqOptions() {
  const any = [...document.querySelectorAll('#source-list input')].some((i) => PATTERN.test(i.value.slice(i.value.lastIndexOf('/') + 1)));
  $('seq-options').hidden = !any;
}

// ---- the folder browser: GET /api/fs, beginning at the roots ------------------------
const browser = { target: null, path: null, files: false };

async function browse(target, files) {
  browser.target = target;
  browser.files = files;
  $('browser-title').textContent = files ? 'Choose a source' : 'Choose the destination folder';
  const v = target.value.trim();
  const start = v.endsWith('/') ? v : v.slice(0, v.lastIndexOf('/') + 1);
  $('browser').showModal();
  await browseTo(start && start !== '/' ? start.replace(/\/+$/, '') : null);
}

// Shows dir (null: the roots) in the browser; above the roots, the roots.
async function browseTo(dir) {
  const list = $('browser-list');
  const roots = await api('GET', '/api/fs');
  const r = dir ? await api('GET', `/api/fs?path=${encodeURIComponent(dir)}`) : roots;
  const atRoots = !dir || r.status !== 200;
  browser.path = atRoots ? null : r.json.path.replace(/\/+$/, '') || '/';
  $('browser-path').textContent = atRoots ? 'the allowed roots' : browser.path;
  $('browser-up').hidden = atRoots;
  $('browser-pick-here').hidden = atRoots;
  const entries = atRoots
    ? (roots.status === 200 ? roots.json.entries.map((e) => ({ ...e, full: e.name, type: 'd' })) : [])
    : r.json.entries.map((e) => ({ ...e, full: `${browser.path === '/' ? '' : browser.path}/${e.name}` }));
  const kinds = { d: 'folder', f: 'file', s: 'frames', l: 'link', o: 'other' };
  list.replaceChildren(...entries.filter((e) => browser.files || e.type === 'd').map((e) => {
    const li = el('li');
    const b = el('button', '', { type: 'button', 'data-path': e.full, 'data-type': e.type });
    b.append(document.createTextNode(atRoots ? e.full : e.name), text('span', 'kind', e.type === 's' ? `${kinds.s} ${e.frames} (${count(e.count)})` : kinds[e.type] || ''));
    b.addEventListener('click', () => (e.type === 'd' ? browseTo(e.full) : pick(e.full)));
    li.append(b);
    return li;
  }));
  $('browser-note').textContent = !atRoots && r.json.truncated ? 'Only the first entries are shown.' : '';
  (list.querySelector('button') || $('browser-close')).focus();
}

function pick(path) {
  browser.target.value = path;
  $('browser').close();
  browser.target.focus();
  showSeqOptions();
}

async function showRoots() {
  const r = await api('GET', '/api/fs');
  if (r.status === 200) $('roots-line').textContent = `Allowed roots: ${r.json.entries.map((e) => e.name).join(', ')}`;
}

// ---- job detail -------------------------------------------------------------------
function renderFacts(job) {
  const took = job.started_at && job.finished_at ? (Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000 : null;
  const facts = [
    ['Id', job.id], ['State', job.state], ['Tag', job.tag || '–'],
    ['Sources', (job.sources || []).join('\n')], ['Destination', job.dest],
    ['Created', when(job.created_at)], ['Started', when(job.started_at)], ['Finished', when(job.finished_at)],
    ['Took', took === null ? '–' : `${took.toFixed(1)} s`],
    ['Bytes', `${bytes(job.bytes_done)} of ${bytes(job.bytes_total)}`],
    ['Files', `${count(job.files_done)} done, ${count(job.files_skipped)} skipped, ${count(job.files_failed)} failed, of ${count(job.files_total)}`],
    ['Cancel latency', job.cancel_latency_us === null || job.cancel_latency_us === undefined ? '–' : `${(job.cancel_latency_us / 1000).toFixed(2)} ms (from the cancel to the last worker stopped)`],
    ['Error', job.error || '–'],
  ];
  $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [text('dt', '', k), text('dd', '', v)]));
}

// ---- frame strips: one row per sequence source ----------------------------------
// Frame sets come as text ("1001-1040,1043-1100x2"); a strip paints, left to
// right from the first frame to the last, what became of each frame.
function parseFrames(t) {
  if (!t) return [];
  return t.split(',').map((part) => {
    const m = /^(-?\d+)(?:-(-?\d+)(?:x(\d+))?)?$/.exec(part);
    if (!m) return null;
    const a = Number(m[1]);
    return [a, m[2] === undefined ? a : Number(m[2]), Number(m[3] || 1)];
  }).filter(Boolean);
}
const STRIP = [ // painted in this order: later ones win where frames share a pixel
  ['frames', 'pending', '#c9ced6'], ['done', 'done', '#2e8b57'], ['skipped', 'skipped', '#8fbf9f'],
  ['missing', 'missing', '#e09a2b'], ['failed', 'failed', '#c8322a'],
];
function paintStrip(canvas, seq) {
  const sets = Object.fromEntries(STRIP.map(([k]) => [k, parseFrames(seq[k])]));
  const all = [...sets.frames, ...sets.missing];
  if (!all.length) return;
  const lo = Math.min(...all.map((r) => r[0])), hi = Math.max(...all.map((r) => r[1]));
  const w = canvas.clientWidth || 600, h = 14, span = hi - lo + 1;
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext('2d');
  const x = (f) => Math.floor(((f - lo) / span) * w);
  for (const [k, , color] of STRIP) {
    g.fillStyle = color;
    for (const [a, b, step] of sets[k]) {
      if (step === 1 || (b - a) / step > w * 4) g.fillRect(x(a), 0, Math.max(1, x(b + 1) - x(a)), h);
      else for (let f = a; f <= b; f += step) g.fillRect(x(f), 0, Math.max(1, x(f + 1) - x(f)), h);
    }
  }
}
function renderSeqs(job) {
  const seqs = job.sequences || [];
  const box = $('detail-seqs');
  box.replaceChildren(...seqs.map((s) => {
    const row = el('div', 'seq', { 'data-testid': 'sequence-row', 'data-done': String(s.done_count), 'data-missing': String(s.missing_count), 'data-failed': String(s.failed_count), 'data-frames': String(s.frames_count) });
    const head = el('div', 'seq-head');
    head.append(text('span', 'pattern', s.source), text('span', 'muted', `→ ${s.dest}`));
    const summary = `${count(s.done_count + s.skipped_count)} of ${count(s.frames_count)} frames copied (${s.frames || 'none'})` +
      (s.missing_count ? `; ${count(s.missing_count)} missing: ${s.missing}` : '') +
      (s.failed_count ? `; ${count(s.failed_count)} failed: ${s.failed}` : '');
    const canvas = el('canvas', '', { 'data-testid': 'frame-strip', role: 'img', 'aria-label': summary });
    const legend = el('div', 'seq-legend');
    for (const [k, label, color] of STRIP) {
      const n = k === 'frames' ? s.frames_count - s.done_count - s.skipped_count - s.failed_count : s[`${k}_count`];
      if (!n) continue;
      const item = el('span');
      const sw = el('i');
      sw.style.background = color;
      item.append(sw, document.createTextNode(`${label} ${count(n)}`));
      legend.append(item);
    }
    row.append(head, text('div', 'muted', summary), canvas, legend);
    requestAnimationFrame(() => paintStrip(canvas, s));
    return row;
  }));
}

// How many results the current filter should hold, from the job's counters.
function expectedFiles(job) {
  return $('detail-failed-only').checked ? job.files_failed : finished(job);
}

async function loadFiles() {
  const d = state.detail, id = d.id;
  clearTimeout(d.timer);
  d.lastLoad = performance.now();
  const q = new URLSearchParams({ offset: String(d.offset), limit: String(FILE_ROWS) });
  if ($('detail-failed-only').checked) q.set('state', 'failed');
  const r = await api('GET', `/api/jobs/${encodeURIComponent(id)}/files?${q}`);
  if (r.status !== 200 || d.id !== id) return;
  const rows = r.json.files.map((f) => {
    const tr = el('tr', f.state === 'failed' ? 'failed' : '', { 'data-testid': 'file-row' });
    for (const v of [f.path, f.state, bytes(f.bytes), f.error || '']) tr.append(text('td', '', v));
    return tr;
  });
  const job = state.jobs.get(id);
  if (!job) return; // gone from the list (pruned) while the page was asked for
  $('detail-files').replaceChildren(...rows);
  const total = Math.max(expectedFiles(job), d.offset + rows.length);
  const pages = Math.max(1, Math.ceil(total / FILE_ROWS));
  const none = $('detail-failed-only').checked ? 'no failures' : live(job.state) ? 'no files yet' : 'no files';
  $('detail-range').textContent = rows.length ? `files ${count(d.offset + 1)}–${count(d.offset + rows.length)} of ${count(total)}` : total ? `no files on this page (of ${count(total)})` : none;
  $('detail-page-input').max = String(pages);
  $('detail-page-input').value = String(Math.floor(d.offset / FILE_ROWS) + 1);
  $('detail-pages').textContent = `of ${count(pages)}`;
  $('detail-prev').disabled = d.offset === 0;
  $('detail-next').disabled = d.offset + FILE_ROWS >= total;
  // Results reach the journal in groups (~100 ms): a page that should hold
  // more than it got is asked again shortly.
  const want = Math.min(FILE_ROWS, Math.max(0, expectedFiles(job) - d.offset));
  if (rows.length < want && d.retries < 30) { d.retries++; d.timer = setTimeout(loadFiles, 300); } else d.retries = 0;
}

// A job event for the open detail: the facts at once, the page at most once a
// second while the job runs, and again when it ends.
function detailUpdate(job, old) {
  renderFacts(job);
  renderSeqs(job);
  const d = state.detail;
  const ended = old && live(old.state) && !live(job.state);
  if (ended) { d.retries = 0; loadFiles(); return; }
  const want = Math.min(FILE_ROWS, Math.max(0, expectedFiles(job) - d.offset));
  if (live(job.state) && $('detail-files').children.length < want && performance.now() - d.lastLoad > 1000) loadFiles();
}

function goToPage(n) {
  const d = state.detail;
  d.offset = Math.max(0, (n - 1) * FILE_ROWS);
  d.retries = 0;
  loadFiles();
}

let detailOpener = null;
function openDetail(id, opener) {
  detailOpener = opener || null;
  state.detail = { id, offset: 0, timer: null, retries: 0, lastLoad: 0 };
  $('detail-title').textContent = `Job ${id}`;
  $('detail-failed-only').checked = false;
  $('detail-files').replaceChildren();
  renderFacts(state.jobs.get(id));
  $('detail').append($('announce')); // heard while the rest of the page is inert
  $('detail').showModal();
  renderSeqs(state.jobs.get(id)); // once shown, so that the strips have a width
  loadFiles();
}

function closedDetail() {
  clearTimeout(state.detail.timer);
  state.detail.id = null;
  document.body.append($('announce'));
  if (detailOpener && detailOpener.isConnected) detailOpener.focus();
}

// ---- the WebSocket -------------------------------------------------------------
function setConnection(connected) {
  const b = $('connection');
  b.dataset.state = connected ? 'connected' : 'disconnected';
  b.textContent = connected ? 'connected' : 'Connection to ferry serve lost — reconnecting… (the jobs below may be out of date)';
  b.hidden = connected;
  document.body.dataset.connection = b.dataset.state;
}

function retry() {
  clearTimeout(state.retryTimer);
  // Back-off with jitter, so that many pages do not reconnect in step.
  const wait = state.backoff * (0.75 + Math.random() / 2);
  state.backoff = Math.min(state.backoff * 2, 5000);
  state.retryTimer = setTimeout(connect, wait);
}

// Snapshot first, then the socket (see the top of this file).
async function connect() {
  if (!state.token) return;
  const r = await api('GET', '/api/jobs');
  if (r.status === 401 || !state.token) return;
  if (r.status !== 200) { setConnection(false); retry(); return; }
  replaceAll(r.json.jobs);
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/events?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => {
    state.backoff = 250;
    // The page does not list files as they go; it asks per page.
    ws.send(JSON.stringify({ type: 'subscribe', files: false }));
    const was = $('connection').dataset.state;
    setConnection(true);
    if (was === 'disconnected') announce('Connection to ferry serve restored');
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === 'hello') for (const j of m.jobs) bump(j);
    else if (m.type === 'job') bump(m.job);
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    const was = $('connection').dataset.state;
    setConnection(false);
    if (was === 'connected') announce('Connection to ferry serve lost');
    retry();
  };
}

function bump(job) {
  state.version.set(job.id, (state.version.get(job.id) || 0) + 1);
  upsert(job);
}

// ---- start -----------------------------------------------------------------------
function start() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('ferry-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = sessionStorage.getItem('ferry-token');
  if (!state.token) { needToken('This page was opened without its token.'); return; }
  $('app').hidden = false;
  connect();
  showRoots();
}

document.addEventListener('DOMContentLoaded', () => {
  $('copy-form').addEventListener('submit', submitForm);
  $('add-source').addEventListener('click', addSource);
  $('copy-form').addEventListener('input', complete);
  $('copy-form').addEventListener('focusin', complete);
  $('copy-form').addEventListener('input', showSeqOptions);
  $('browse-source').addEventListener('click', () => {
    const inputs = [...document.querySelectorAll('#source-list input')];
    browse(inputs.find((i) => !i.value.trim()) || inputs.at(-1), true);
  });
  $('browse-dest').addEventListener('click', () => browse($('dest'), false));
  $('browser-close').addEventListener('click', () => $('browser').close());
  $('browser-up').addEventListener('click', async () => {
    // Above a root: the roots themselves, without asking for what is refused.
    const up = browser.path.slice(0, browser.path.lastIndexOf('/')) || '/';
    const beneath = (await roots()).some((root) => up.startsWith(root.replace(/\/+$/, '')));
    browseTo(beneath ? up : null);
  });
  $('browser-pick-here').addEventListener('click', () => pick(browser.path));
  $('cancel-tag-form').addEventListener('submit', (ev) => { ev.preventDefault(); cancelTag(); });
  $('cancel-all-button').addEventListener('click', () => cancelMany(null));
  $('more-jobs').addEventListener('click', () => { state.shown += PAGE_ROWS; render(); });
  const refilter = () => { state.shown = PAGE_ROWS; render(); };
  $('state-filter').addEventListener('change', refilter);
  $('job-filter').addEventListener('input', refilter);
  $('detail-close').addEventListener('click', () => $('detail').close());
  $('detail').addEventListener('close', closedDetail);
  $('detail-failed-only').addEventListener('change', () => goToPage(1));
  $('detail-prev').addEventListener('click', () => goToPage(state.detail.offset / FILE_ROWS));
  $('detail-next').addEventListener('click', () => goToPage(state.detail.offset / FILE_ROWS + 2));
  $('detail-page-form').addEventListener('submit', (ev) => { ev.preventDefault(); goToPage(Number($('detail-page-input').value) || 1); });
  start();
});
