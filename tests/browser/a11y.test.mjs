// The web UI for keyboards and screen readers (issue: "The web UI, as its
// users meet it"): axe-core in the page for the empty, running, ended and
// details states (no serious or critical finding: contrast included), the
// focus after Start copy, Cancel and Resume, the empty form, the live region
// while the details are open, the progress bar's name, the files table as a
// focusable region, the pager at 320 px, and path completion that asks
// nothing it would be refused. Screenshots of each state go to build/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempTree, startDaemon, cleanup, allocated } from '../system/daemon_lib.mjs';
import { launch, watch, SHOTS } from './browser_lib.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const t = tempTree();
const plate = join(t.root, 'plate.mov');
allocated(plate, 500 * 2 ** 20); // allocated, not a hole (holes are skipped): slow enough to cancel at bwlimit
const shot = join(t.root, 'shots', 'sh010');
mkdirSync(shot, { recursive: true });
for (let f = 1001; f <= 1008; f++) writeFileSync(join(shot, `comp.${f}.exr`), `frame ${f}\n`);
const small = join(t.root, 'small');
mkdirSync(small);
for (let i = 0; i < 60; i++) writeFileSync(join(small, `f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`);

let d, b, page, seen;
const requests = [];

before(async () => {
  d = await startDaemon(t);
  b = await launch();
  page = b.context.pages()[0] || await b.context.newPage();
  seen = watch(page);
  page.on('request', (r) => requests.push(r.url()));
  b.context.on('dialog', (dlg) => dlg.accept());
  await page.goto(`${d.base}/#token=${d.token}`);
  await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { state: 'attached' });
});

after(async () => {
  await b?.close();
  await d?.stop();
  cleanup(t);
});

const row = (id) => page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
const waitState = (id, s, timeout = 20000) => row(id).locator('[data-testid="job-state"]').filter({ hasText: new RegExp(`^${s}$`) }).waitFor({ timeout });
const focused = () => page.evaluate(() => {
  const e = document.activeElement;
  return { tag: e.tagName, testid: e.dataset.testid || '', id: e.id, job: e.closest('[data-job-id]')?.dataset.jobId || '' };
});

// axe-core's serious and critical findings on the page as it is now.
async function axe(name) {
  await page.screenshot({ path: join(SHOTS, `a11y-${name}.png`) });
  // Evaluated through the DevTools protocol: the page's CSP (no inline
  // script) stays as it is, and still refuses anything else.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(found, [], `${name}: axe-core findings`);
}

async function start(source, dest, bwlimit = '') {
  await page.fill('[data-testid="source-input"]', source);
  await page.fill('[data-testid="dest-input"]', dest);
  await page.fill('#bwlimit', bwlimit);
  await page.setChecked('#fsync', false);
  const resp = page.waitForResponse((r) => r.url().endsWith('/api/jobs') && r.request().method() === 'POST');
  await page.focus('[data-testid="start-button"]');
  await page.keyboard.press('Enter');
  const json = await (await resp).json();
  await row(json.id).waitFor();
  return json.id;
}

test('the empty page: no serious or critical axe-core finding (contrast of badges, inputs, the track)', async () => {
  await axe('empty');
});

test('the empty form: the sources field is marked invalid, named in words, and focused; nothing is sent', async () => {
  const before = requests.length;
  await page.focus('[data-testid="start-button"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#source-0[aria-invalid="true"]');
  assert.equal((await focused()).id, 'source-0');
  assert.match(await page.textContent('#sources-error'), /^Sources: give at least one/);
  assert.equal(requests.slice(before).filter((u) => u.endsWith('/api/jobs')).length, 0, 'no request for an empty form');
  await page.fill('[data-testid="source-input"]', plate);
  await page.focus('[data-testid="start-button"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#dest[aria-invalid="true"]');
  assert.equal((await focused()).id, 'dest');
});

test('typing "/" in a path field asks nothing it would be refused: the roots are offered', async () => {
  const before = requests.length;
  await page.fill('[data-testid="dest-input"]', '');
  await page.type('[data-testid="dest-input"]', '/');
  await page.waitForFunction(() => document.querySelectorAll('#path-suggestions option').length > 0);
  const asked = requests.slice(before).filter((u) => /\/api\/fs\?path=/.test(u));
  assert.deepEqual(asked, [], 'a directory above the roots was asked for');
  const offered = await page.$$eval('#path-suggestions option', (o) => o.map((x) => x.value));
  assert.ok(offered.includes(`${t.root}/`), `the root is offered: ${offered}`);
});

test('a running job: the progress bar is named after the job, its value in bytes; focus stays on the row after Start, Cancel and Resume', async () => {
  const id = await start(plate, join(t.root, 'out-a'), '20M');
  assert.equal((await focused()).testid, 'start-button', 'the focus stays on Start copy');
  const bar = row(id).locator('[data-testid="job-progress"]');
  assert.equal(await bar.getAttribute('aria-label'), `Progress of job ${id}`);
  await page.waitForFunction((jid) => /MiB of 500 MiB, \d+%/.test(document.querySelector(`[data-job-id="${jid}"] [data-testid="job-progress"]`).getAttribute('aria-valuetext') || ''), id);
  const label = await bar.getAttribute('aria-label');
  await page.waitForTimeout(300);
  assert.equal(await bar.getAttribute('aria-label'), label, 'the name does not change with every tick');
  await axe('running');
  await row(id).locator('[data-testid="cancel-button"]').focus();
  await page.keyboard.press('Enter');
  await waitState(id, 'cancelled', 5000);
  await page.waitForFunction(() => document.activeElement !== document.body);
  let f = await focused();
  assert.equal(f.job, id, `the focus stays on the job's row: ${JSON.stringify(f)}`);
  assert.equal(f.testid, 'resume-button');
  assert.match(await row(id).locator('[data-testid="job-note"]').textContent(),
    /^(Nothing kept|Kept \d+ of \d+ files \(.*\)); no partial file left\. Resume copies the rest\.$/, 'what was kept, and how to go on');
  await axe('ended');
  await page.keyboard.press('Enter'); // Resume
  await waitState(id, 'running', 5000);
  await page.waitForFunction(() => document.activeElement !== document.body);
  f = await focused();
  assert.equal(f.job, id, `after Resume: ${JSON.stringify(f)}`);
  assert.equal(f.testid, 'cancel-button');
  await page.keyboard.press('Enter');
  await waitState(id, 'cancelled', 5000);
});

test('details: the files table is a named, focusable region; cancels are announced inside the open dialog; the pager wraps at 320 px', async () => {
  const done = await start(small, join(t.root, 'out-b'));
  await waitState(done, 'done');
  const running = await start(plate, join(t.root, 'out-c'), '20M');
  await row(done).locator('[data-testid="details-button"]').click();
  await page.waitForSelector('#detail[open]');
  await page.waitForSelector('#detail-files tr');
  const wrap = page.locator('.files-wrap');
  assert.equal(await wrap.getAttribute('role'), 'region');
  assert.equal(await wrap.getAttribute('tabindex'), '0');
  assert.ok(await wrap.getAttribute('aria-label'));
  assert.equal(await page.getAttribute('#detail-range', 'aria-live'), null, 'the range is not announced at every refresh');
  assert.ok(await page.evaluate(() => document.getElementById('detail').contains(document.getElementById('announce'))),
    'the live region is inside the modal dialog');
  await axe('details');
  // A cancel while the dialog is open (over the API, as from another client).
  await d.api('POST', `/api/jobs/${running}/cancel`);
  await page.waitForFunction((jid) => new RegExp(`${jid} cancelled`).test(document.getElementById('announce').textContent), running);
  await page.setViewportSize({ width: 320, height: 640 });
  const box = await page.locator('.pager').boundingBox();
  const next = await page.locator('#detail-next').boundingBox();
  const dialog = await page.locator('#detail').boundingBox();
  assert.ok(next && next.x + next.width <= dialog.x + dialog.width + 0.5, `Next is cut off at 320 px: ${JSON.stringify({ next, dialog })}`);
  assert.ok(box.width <= dialog.width, 'the pager fits the dialog');
  await page.screenshot({ path: join(SHOTS, 'a11y-details-320.png') });
  await page.setViewportSize({ width: 1366, height: 800 });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#detail:not([open])', { state: 'attached' });
  assert.ok(await page.evaluate(() => document.body.contains(document.getElementById('announce')) &&
    !document.getElementById('detail').contains(document.getElementById('announce'))), 'the live region is back in the page');
});

test('several messages in one moment are one announcement, not each overwriting the last', async () => {
  await page.evaluate(() => { document.getElementById('announce').textContent = ''; });
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await start(plate, join(t.root, `out-t${i}`), '20M'));
  await page.waitForTimeout(200); // past the batch of the starts' own announcements
  await d.api('POST', '/api/cancel', { all: true });
  for (const id of ids) await waitState(id, 'cancelled', 5000);
  const text = await page.textContent('#announce');
  for (const id of ids) assert.match(text, new RegExp(`${id} cancelled`), `every cancel in the one message: ${text}`);
});

test('the folder browser starts at the roots (shown under the form); a sequence picked as source shows its options, which reach the API', async () => {
  assert.match(await page.textContent('[data-testid="roots-line"]'), new RegExp(`Allowed roots: ${t.root}`));
  for (let i = 1; i < 5; i++) { // the form from earlier tests: back to one empty source
    const extra = page.locator('#source-list input').nth(1);
    if (await extra.count()) await extra.evaluate((e) => e.remove());
  }
  await page.fill('[data-testid="source-input"]', '');
  await page.click('[data-testid="browse-source"]');
  await page.waitForSelector('#browser[open]');
  await page.waitForSelector('#browser-list button');
  assert.equal(await page.textContent('[data-testid="browser-path"]'), 'the allowed roots',
    await page.$$eval('#browser-list button', (b) => b.map((x) => x.dataset.path).join(' ')));
  await page.click(`#browser-list button[data-path="${t.root}"]`);
  await page.waitForFunction((p) => document.getElementById('browser-path').textContent === p, t.root);
  await page.click(`#browser-list button[data-path="${join(t.root, 'shots')}"]`);
  await page.click(`#browser-list button[data-path="${shot}"]`);
  await page.waitForSelector(`#browser-list button[data-type="s"]`);
  await axe('browser');
  await page.click('#browser-list button[data-type="s"]');
  await page.waitForSelector('#browser:not([open])', { state: 'attached' });
  const source = await page.inputValue('[data-testid="source-input"]');
  assert.equal(source, join(shot, 'comp.####.exr'));
  assert.equal((await focused()).id, 'source-0', 'the focus comes back to the field');
  await page.waitForSelector('[data-testid="seq-options"]:not([hidden])');
  // The destination: a folder, picked with "Use this folder". The browser
  // opens where the field points (here: beneath the root), else at the roots.
  await page.fill('[data-testid="dest-input"]', `${join(t.root, 'shots')}/`);
  await page.click('[data-testid="browse-dest"]');
  await page.waitForFunction((p) => document.getElementById('browser-path').textContent === p, join(t.root, 'shots'));
  await page.click('#browser-up');
  await page.waitForFunction((p) => document.getElementById('browser-path').textContent === p, t.root);
  await page.click('[data-testid="browser-pick-here"]');
  assert.equal(await page.inputValue('[data-testid="dest-input"]'), t.root);
  await page.fill('[data-testid="dest-input"]', join(t.root, 'dailies'));
  await page.fill('#frames', '1001-1007x2');
  await page.fill('#renumber', '1');
  await page.fill('#pad', '3');
  await page.setChecked('#check-exr', false);
  const req = page.waitForRequest((r) => r.url().endsWith('/api/jobs') && r.method() === 'POST');
  await page.fill('#bwlimit', '');
  await page.click('[data-testid="start-button"]');
  const body = (await req).postDataJSON();
  assert.deepEqual({ frames: body.frames, renumber: body.renumber, pad: body.pad, keep_step: body.keep_step },
    { frames: '1001-1007x2', renumber: 1, pad: 3, keep_step: undefined });
  const id = JSON.parse(await (await (await req).response()).text()).id;
  await waitState(id, 'done');
  // Numbered consecutively, as dailies want.
  assert.deepEqual(readdirSync(join(t.root, 'dailies')).sort(), ['comp.001.exr', 'comp.002.exr', 'comp.003.exr', 'comp.004.exr']);
  // "keep the step": 1, 3, 5, 7.
  await page.fill('[data-testid="dest-input"]', join(t.root, 'dailies-step'));
  await page.setChecked('#keep-step', true);
  const req2 = page.waitForRequest((r) => r.url().endsWith('/api/jobs') && r.method() === 'POST');
  await page.click('[data-testid="start-button"]');
  assert.equal((await req2).postDataJSON().keep_step, true);
  const id2 = JSON.parse(await (await (await req2).response()).text()).id;
  await waitState(id2, 'done');
  assert.deepEqual(readdirSync(join(t.root, 'dailies-step')).sort(), ['comp.001.exr', 'comp.003.exr', 'comp.005.exr', 'comp.007.exr']);
  await page.setChecked('#keep-step', false);
  // A plain source hides them again.
  await page.fill('[data-testid="source-input"]', plate);
  await page.waitForSelector('[data-testid="seq-options"][hidden]', { state: 'attached' });
});

test('a full disk: the row accounts for every file (copied, failed, not attempted) and says the cause once', async () => {
  const frames = join(t.root, 'frames800');
  mkdirSync(frames);
  for (let i = 0; i < 12; i++) writeFileSync(join(frames, `f.${1001 + i}.exr`), randomBytes(800 * 1000));
  const disk = join(t.root, 'small-disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=5m', 'tmpfs', disk]);
  try {
    const id = await start(frames, disk);
    await waitState(id, 'failed');
    const stats = await row(id).locator('[data-testid="job-stats"]').textContent();
    const job = (await d.api('GET', `/api/jobs/${id}`)).json;
    assert.ok(job.files_done > 0 && job.files_not_attempted > 0, JSON.stringify(job));
    assert.equal(job.files_done + job.files_failed + job.files_not_attempted + job.files_skipped, 12, 'every file accounted for');
    assert.match(stats, new RegExp(`${job.files_not_attempted} not attempted`), stats);
    assert.match(stats, new RegExp(`${job.files_failed} failed`), stats);
    // The failed file's size is said, and counted in the row's total: not "0 B / 0 B".
    await row(id).locator('[data-testid="job-note"]').filter({ hasText: /^1 file failed \(781 KiB\): No space left on device/ }).waitFor({ timeout: 5000 });
    const planned = job.bytes_total + 800 * 1000;
    await page.waitForFunction(([jid, want]) => document.querySelector(`[data-job-id="${jid}"] [data-testid="job-stats"]`).textContent.includes(want),
      [id, ` / ${(planned / 2 ** 20).toFixed(planned < 10 * 2 ** 20 ? 1 : 0)} MiB`], { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'a11y-full-disk.png') });
  } finally {
    execFileSync('umount', [disk]);
  }
});

test('Cancel all: an empty tag and a tag that matches nothing say so; "Cancel all jobs" says how many, then cancels them all', async () => {
  const confirms = [];
  const onDialog = (dlg) => confirms.push(dlg.message());
  b.context.on('dialog', onDialog);
  try {
    await page.fill('#cancel-tag', '');
    await page.click('[data-testid="cancel-tag-button"]');
    assert.match(await page.textContent('#cancel-result'), /Type the tag/);
    await page.fill('#cancel-tag', 'typo');
    await page.click('[data-testid="cancel-tag-button"]');
    assert.match(await page.textContent('#cancel-result'), /No running or queued job is tagged "typo"/);
    assert.deepEqual(confirms, [], 'no confirmation for nothing');
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push(await start(plate, join(t.root, `out-all${i}`), '20M'));
    await page.click('[data-testid="cancel-all-button"]');
    for (const id of ids) await waitState(id, 'cancelled', 5000);
    assert.match(confirms.at(-1), /^Cancel all 2 running or queued jobs\?$/);
    assert.match(await page.textContent('#cancel-result'), /^2 jobs cancelled/);
  } finally {
    b.context.off('dialog', onDialog);
  }
});

test('the page threw nothing, refused nothing and asked nothing that was refused', () => {
  assert.deepEqual(seen.errors, []);
});
