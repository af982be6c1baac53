// ferry's web UI: plain JavaScript over the documented API (docs/api.md).
// Every name from the server is shown with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  token: null,
  jobs: new Map(),        // id -> job object
  rows: new Map(),        // id -> row element
  shown: 200,             // rows rendered (the rest: "Show more")
  ws: null,
  wsOpen: false,
  backoff: 250,
  pendingCancel: new Map(), // id -> performance.now() of the click
  detail: { id: null, offset: 0, limit: 200 },
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
function percent(job) {
  if (job.bytes_total > 0) return Math.min(100, Math.floor((job.bytes_done * 100) / job.bytes_total));
  if (job.files_total > 0) return Math.min(100, Math.floor(((job.files_done + job.files_skipped + job.files_failed) * 100) / job.files_total));
  return job.state === 'done' ? 100 : 0;
}
const live = (s) => s === 'queued' || s === 'running';
function announce(text) { $('announce').textContent = text; }

// ---- API -------------------------------------------------------------------------
async function api(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${state.token}` } };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  const r = await fetch(path, init);
  let json = null;
  try { json = await r.json(); } catch { /* empty */ }
  if (r.status === 401) needToken('The token was refused.');
  return { status: r.status, json };
}

function needToken(detail) {
  $('app').hidden = true;
  $('need-token').hidden = false;
  $('token-detail').textContent = detail || '';
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
}

// ---- job rows ------------------------------------------------------------------
function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function makeRow(job) {
  const li = el('li', 'job', { 'data-testid': 'job-row', 'data-job-id': job.id });
  const title = el('div', 'job-title');
  const badge = el('span', 'badge', { 'data-testid': 'job-state' });
  const dest = el('span', 'job-dest');
  const tag = el('span', 'tagname');
  title.append(badge, dest, tag);
  const actions = el('div', 'job-actions');
  const details = el('button', 'link', { type: 'button' });
  details.textContent = 'Details';
  details.addEventListener('click', () => openDetail(job.id));
  const cancel = el('button', '', { type: 'button', 'data-testid': 'cancel-button' });
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => cancelJob(job.id, cancel));
  actions.append(details, cancel);
  const bar = el('div', 'bar', { role: 'progressbar', 'data-testid': 'job-progress', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' });
  bar.append(el('div'));
  const stats = el('div', 'stats');
  const current = el('div', 'current');
  const error = el('div', 'joberror');
  li.append(title, actions, bar, stats, current, error);
  li._parts = { badge, dest, tag, cancel, bar, fill: bar.firstChild, stats, current, error };
  return li;
}

function updateRow(li, job) {
  const p = li._parts, pct = percent(job);
  li.dataset.state = job.state;
  p.badge.textContent = job.state;
  p.badge.dataset.state = job.state;
  p.dest.textContent = `${(job.sources || []).map((s) => s.split('/').pop() || s).join(', ')} → ${job.dest || ''}`;
  p.tag.textContent = job.tag ? `#${job.tag}` : '';
  p.bar.setAttribute('aria-valuenow', String(pct));
  p.bar.setAttribute('aria-label', `${pct}% of ${bytes(job.bytes_total)}`);
  p.fill.style.width = `${pct}%`;
  const files = `${job.files_done + job.files_skipped}/${job.files_total} files`;
  const parts = [`${bytes(job.bytes_done)} / ${bytes(job.bytes_total)}`, files];
  if (job.files_failed) parts.push(`${job.files_failed} failed`);
  if (job.state === 'running') parts.push(`${bytes(job.rate_bps)}/s`, `ETA ${duration(job.eta_s)}`);
  if (job.cancel_latency_us !== null && job.cancel_latency_us !== undefined) parts.push(`stopped in ${(job.cancel_latency_us / 1000).toFixed(1)} ms`);
  p.stats.replaceChildren(...parts.map((t) => { const s = el('span'); s.textContent = t; return s; }));
  p.current.textContent = job.state === 'running' && job.current_file ? job.current_file : '';
  p.error.textContent = job.error || '';
  const cancellable = live(job.state);
  p.cancel.hidden = !cancellable;
  if (!cancellable) p.cancel.disabled = true;
}

function sortedIds() {
  return [...state.jobs.values()]
    .sort((a, b) => (b.created_at || '').localeCompare(a.created_at || '') || b.id.localeCompare(a.id))
    .map((j) => j.id);
}

// Renders the newest `shown` jobs; rows are reused, so a progress tick
// touches only its own row.
function render() {
  const list = $('jobs');
  const ids = sortedIds();
  const visible = ids.slice(0, state.shown);
  $('jobs-empty').hidden = ids.length > 0;
  $('more-jobs').hidden = ids.length <= state.shown;
  $('more-jobs').textContent = `Show more jobs (${ids.length - state.shown} more)`;
  let before = list.firstChild;
  for (const id of visible) {
    let li = state.rows.get(id);
    if (!li) { li = makeRow(state.jobs.get(id)); state.rows.set(id, li); }
    updateRow(li, state.jobs.get(id));
    if (li !== before) list.insertBefore(li, before);
    else before = before.nextSibling;
    before = li.nextSibling;
  }
  for (const [id, li] of state.rows) {
    if (!visible.includes(id)) { li.remove(); state.rows.delete(id); }
  }
}

function upsert(job) {
  const old = state.jobs.get(job.id);
  state.jobs.set(job.id, job);
  if (old && old.state !== job.state) {
    announce(`Job ${job.id} ${job.state}${job.error ? ': ' + job.error : ''}`);
    const t0 = state.pendingCancel.get(job.id);
    if (t0 !== undefined && job.state === 'cancelled') {
      state.pendingCancel.delete(job.id);
      console.log(`ferry: click to cancelled ${(performance.now() - t0).toFixed(1)} ms`);
    }
  }
  const li = state.rows.get(job.id);
  if (li && old && old.created_at === job.created_at) updateRow(li, job);
  else render();
  if (state.detail.id === job.id) {
    renderFacts(job);
    if (old && old.files_failed !== job.files_failed && $('detail').open) loadFiles();
  }
}

// ---- cancel ----------------------------------------------------------------------
async function cancelJob(id, button) {
  if (button.disabled) return; // a double click is harmless
  button.disabled = true;
  state.pendingCancel.set(id, performance.now());
  if (state.wsOpen) {
    state.ws.send(JSON.stringify({ type: 'cancel', id }));
    return;
  }
  const r = await api('POST', `/api/jobs/${encodeURIComponent(id)}/cancel`);
  const known = state.jobs.get(id);
  if (r.json && r.json.id && (!known || live(known.state))) upsert(r.json);
}

async function cancelTag() {
  const tag = $('cancel-tag').value.trim();
  if (!tag) { $('cancel-tag').focus(); return; }
  if (!window.confirm(`Cancel every running or queued job tagged "${tag}"?`)) return;
  const r = await api('POST', '/api/cancel', { tag });
  if (r.status === 200) {
    announce(`${r.json.cancelled.length} job(s) tagged ${tag} cancelled`);
    for (const id of r.json.cancelled) {
      const j = await api('GET', `/api/jobs/${encodeURIComponent(id)}`);
      if (j.json && j.json.id) upsert(j.json);
    }
  }
}

// ---- the new-copy form ---------------------------------------------------------
const FIELDS = ['sources', 'dest', 'tag', 'on_conflict', 'bwlimit'];
function showErrors(message) {
  for (const f of FIELDS) $(`${f}-error`).textContent = '';
  $('form-error').textContent = '';
  if (!message) return;
  const field = FIELDS.find((f) => message.startsWith(f));
  $(field ? `${field}-error` : 'form-error').textContent = message;
}

async function submitForm(ev) {
  ev.preventDefault();
  const sources = [...document.querySelectorAll('#source-list input')].map((i) => i.value.trim()).filter(Boolean);
  const body = { sources, dest: $('dest').value.trim(), on_conflict: $('on-conflict').value, fsync: $('fsync').checked };
  if ($('tag').value.trim()) body.tag = $('tag').value.trim();
  if ($('bwlimit').value.trim()) body.bwlimit = $('bwlimit').value.trim();
  const button = document.querySelector('[data-testid="start-button"]');
  button.disabled = true;
  try {
    const r = await api('POST', '/api/jobs', body);
    if (r.status === 201) {
      showErrors(null);
      // The WebSocket may have told us about this job (even its end) before
      // this answer arrived: an answer never overwrites fresher news.
      if (!state.jobs.has(r.json.id)) upsert(r.json);
      announce(`Job ${r.json.id} started`);
    } else if (r.json && r.json.error) {
      showErrors(r.json.error.message);
    }
  } finally {
    button.disabled = false;
  }
}

function addSource() {
  const list = $('source-list');
  const input = el('input', 'source', { spellcheck: 'false', autocomplete: 'off', list: 'path-suggestions', 'aria-label': `Source ${list.children.length + 1}` });
  list.append(input);
  input.focus();
}

// Path completion from GET /api/fs, beneath the allowed roots.
let completeTimer = null;
function complete(ev) {
  const t = ev.target;
  if (!(t instanceof HTMLInputElement) || t.getAttribute('list') !== 'path-suggestions') return;
  clearTimeout(completeTimer);
  completeTimer = setTimeout(async () => {
    const v = t.value;
    const dir = v.includes('/') ? v.slice(0, v.lastIndexOf('/')) || '/' : '';
    const r = await api('GET', dir ? `/api/fs?path=${encodeURIComponent(dir)}` : '/api/fs');
    if (r.status !== 200) return;
    const opts = r.json.entries.slice(0, 200).map((e) => {
      const o = document.createElement('option');
      o.value = r.json.path ? `${r.json.path.replace(/\/$/, '')}/${e.name}${e.type === 'd' ? '/' : ''}` : e.name;
      return o;
    });
    $('path-suggestions').replaceChildren(...opts);
  }, 200);
}

// ---- job detail -------------------------------------------------------------------
function renderFacts(job) {
  const facts = [
    ['Id', job.id], ['State', job.state], ['Tag', job.tag || '–'],
    ['Sources', (job.sources || []).join('\n')], ['Destination', job.dest],
    ['Created', job.created_at || '–'], ['Started', job.started_at || '–'], ['Finished', job.finished_at || '–'],
    ['Bytes', `${bytes(job.bytes_done)} of ${bytes(job.bytes_total)}`],
    ['Files', `${job.files_done} done, ${job.files_skipped} skipped, ${job.files_failed} failed, of ${job.files_total}`],
    ['Cancel latency', job.cancel_latency_us === null || job.cancel_latency_us === undefined ? '–' : `${(job.cancel_latency_us / 1000).toFixed(2)} ms`],
    ['Error', job.error || '–'],
  ];
  $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = el('dt'); dt.textContent = k;
    const dd = el('dd'); dd.textContent = v;
    return [dt, dd];
  }));
}

async function loadFiles() {
  const d = state.detail;
  const q = new URLSearchParams({ offset: String(d.offset), limit: String(d.limit) });
  if ($('detail-failed-only').checked) q.set('state', 'failed');
  const r = await api('GET', `/api/jobs/${encodeURIComponent(d.id)}/files?${q}`);
  if (r.status !== 200) return;
  const rows = r.json.files.map((f) => {
    const tr = el('tr', '', { 'data-testid': 'file-row' });
    for (const v of [f.path, f.state, bytes(f.bytes), f.error || '']) { const td = el('td'); td.textContent = v; tr.append(td); }
    return tr;
  });
  $('detail-files').replaceChildren(...rows);
  $('detail-page').textContent = rows.length ? `files ${d.offset + 1}–${d.offset + rows.length}` : 'no files';
  $('detail-prev').disabled = d.offset === 0;
  $('detail-next').disabled = rows.length < d.limit;
}

function openDetail(id) {
  state.detail = { id, offset: 0, limit: 200 };
  $('detail-title').textContent = `Job ${id}`;
  renderFacts(state.jobs.get(id));
  loadFiles();
  $('detail').showModal();
}

// ---- the WebSocket -------------------------------------------------------------
function setConnection(connected) {
  const b = $('connection');
  b.dataset.state = connected ? 'connected' : 'disconnected';
  b.textContent = connected ? 'connected' : 'Connection to ferry lost — reconnecting…';
  b.hidden = connected;
}

async function resync() {
  const r = await api('GET', '/api/jobs');
  if (r.status !== 200) return;
  for (const j of r.json.jobs) state.jobs.set(j.id, j);
  render();
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/events?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => {
    // Per-file results are not pushed to the page (a 100,000-file job would
    // mean 100,000 messages); the detail view pages them over HTTP and
    // reloads when the job's failure count changes.
    ws.send(JSON.stringify({ type: 'subscribe', files: false }));
    state.wsOpen = true;
    state.backoff = 250;
    setConnection(true);
    resync();
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === 'hello') { for (const j of m.jobs) state.jobs.set(j.id, j); render(); }
    else if (m.type === 'job') upsert(m.job);
  };
  ws.onclose = () => {
    const was = state.wsOpen;
    state.wsOpen = false;
    setConnection(false);
    if (was) announce('Connection to ferry lost');
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 5000);
  };
}

// ---- start -----------------------------------------------------------------------
async function start() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('ferry-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = sessionStorage.getItem('ferry-token');
  if (!state.token) { needToken('No token was given.'); return; }
  const r = await api('GET', '/api/jobs');
  if (r.status === 401) return;
  $('app').hidden = false;
  if (r.status === 200) { for (const j of r.json.jobs) state.jobs.set(j.id, j); render(); }
  connect();
}

document.addEventListener('DOMContentLoaded', () => {
  $('copy-form').addEventListener('submit', submitForm);
  $('add-source').addEventListener('click', addSource);
  $('copy-form').addEventListener('input', complete);
  $('cancel-tag-button').addEventListener('click', cancelTag);
  $('more-jobs').addEventListener('click', () => { state.shown += 200; render(); });
  $('detail-close').addEventListener('click', () => { $('detail').close(); state.detail.id = null; });
  $('detail-failed-only').addEventListener('change', () => { state.detail.offset = 0; loadFiles(); });
  $('detail-prev').addEventListener('click', () => { state.detail.offset = Math.max(0, state.detail.offset - state.detail.limit); loadFiles(); });
  $('detail-next').addEventListener('click', () => { state.detail.offset += state.detail.limit; loadFiles(); });
  start();
});
