// The page with 1,000 jobs and a job of 100,000 files: job rows are
// paginated (200 at a time) and file results paged from the server (200 per
// page, any page reachable at once), so the page stays small and quick.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempTree, startDaemon, cleanup, sleep } from '../system/daemon_lib.mjs';
import { launch, watch, SHOTS } from './browser_lib.mjs';

const FILES = 100000;
const t = tempTree();
const tiny = join(t.root, 'tiny.exr');
writeFileSync(tiny, 'x');
const many = join(t.root, 'many');
mkdirSync(many);
const name = (i) => `f.${String(i).padStart(6, '0')}.exr`;
for (let i = 0; i < FILES; i++) writeFileSync(join(many, name(i)), 'y');

let d, b, page, seen, bigJob;

// Waits until the list shows n rows; says what it shows when it does not.
async function rows(n) {
  try {
    await page.waitForFunction((want) => document.querySelectorAll('[data-testid="job-row"]').length === want, n, { timeout: 10000, polling: 100 });
  } catch (e) {
    const why = await page.evaluate(() => ({ rows: document.querySelectorAll('[data-testid="job-row"]').length, count: document.querySelector('#jobs-count').textContent, empty: document.querySelector('#jobs-empty').textContent, filter: document.querySelector('#job-filter').value, state: document.querySelector('#state-filter').value, dialog: document.querySelector('#detail').open, banner: document.querySelector('[data-testid="connection-status"]').dataset.state }));
    throw new Error(`expected ${n} rows: ${JSON.stringify(why)}`);
  }
}

before(async () => {
  d = await startDaemon(t, ['--max-running', '8']);
  bigJob = (await d.api('POST', '/api/jobs', { sources: [many], dest: join(t.root, 'big'), fsync: false })).json.id;
  for (let i = 0; i < 1000; i++) {
    const r = await d.api('POST', '/api/jobs', { sources: [tiny], dest: join(t.root, 'out', String(i)), fsync: false, tag: `t${i % 10}` });
    assert.equal(r.status, 201);
  }
  const t0 = Date.now();
  for (;;) {
    const r = await d.api('GET', `/api/jobs/${bigJob}`);
    if (r.json.state !== 'running' && r.json.state !== 'queued') break;
    assert.ok(Date.now() - t0 < 120000, 'the 100,000-file job ends within two minutes');
    await sleep(200);
  }
  console.log(`# 100,000 files copied in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  b = await launch();
  page = b.context.pages()[0] || await b.context.newPage();
  seen = watch(page);
});

after(async () => {
  await b?.close();
  await d?.stop();
  cleanup(t);
});

test('1,001 jobs: the newest 200 rows, then more on demand, and live updates still quick', async () => {
  const t0 = Date.now();
  await page.goto(`${d.base}/#token=${d.token}`);
  await page.waitForSelector('[data-testid="job-row"]');
  console.log(`# 1,001 jobs: first rows shown ${Date.now() - t0} ms after navigation`);
  assert.equal(await page.locator('[data-testid="job-row"]').count(), 200);
  const first = await page.locator('[data-testid="job-row"]').first().getAttribute('data-job-id');
  const newest = (await d.api('GET', '/api/jobs')).json.jobs[0].id;
  assert.equal(first, newest, 'newest first');
  assert.match(await page.textContent('#jobs-count'), /1,001/);
  await page.click('#more-jobs');
  assert.equal(await page.locator('[data-testid="job-row"]').count(), 400);
  const t1 = performance.now();
  const fresh = (await d.api('POST', '/api/jobs', { sources: [tiny], dest: join(t.root, 'fresh'), fsync: false })).json.id;
  await page.locator(`[data-job-id="${fresh}"] [data-testid="job-state"]`, { hasText: 'done' }).waitFor({ timeout: 10000 });
  console.log(`# a new job's row reads done ${(performance.now() - t1).toFixed(0)} ms after it was submitted`);
  assert.equal(await page.locator('[data-testid="job-row"]').first().getAttribute('data-job-id'), fresh);
  await page.screenshot({ path: join(SHOTS, 'thousand-jobs.png') });
});

test('a 100,000-file job: 200 results per page, any page at once, counts from the journal', async () => {
  assert.equal(readdirSync(join(t.root, 'big', 'many')).length, FILES);
  // The oldest job, found with the filter.
  await page.fill('#job-filter', '/many');
  await rows(1);
  assert.match(await page.textContent('#jobs-count'), /1 of 1,002/);
  await page.locator(`[data-job-id="${bigJob}"] [data-testid="details-button"]`).click();
  await page.locator('#detail-range', { hasText: 'files 1–200 of 100,000' }).waitFor();
  assert.equal(await page.locator('[data-testid="file-row"]').count(), 200);
  assert.equal(await page.textContent('#detail-pages'), 'of 500');
  await page.click('#detail-next');
  await page.locator('#detail-range', { hasText: 'files 201–400 of 100,000' }).waitFor();
  // The last page, by number.
  const t0 = performance.now();
  await page.fill('#detail-page-input', '500');
  await page.press('#detail-page-input', 'Enter');
  await page.locator('#detail-range', { hasText: 'files 99,801–100,000 of 100,000' }).waitFor();
  console.log(`# page 500 of the 100,000-file job shown in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(await page.locator('[data-testid="file-row"]').count(), 200);
  assert.equal(await page.isDisabled('#detail-next'), true);
  const names = await page.$$eval('[data-testid="file-row"] td:first-child', (tds) => tds.map((td) => td.textContent.split('/').pop()));
  assert.equal(new Set(names).size, 200);
  // Failures only: none.
  await page.check('#detail-failed-only');
  await page.locator('#detail-range', { hasText: 'no failures' }).waitFor();
  assert.equal(await page.locator('[data-testid="file-row"]').count(), 0);
  await page.screenshot({ path: join(SHOTS, 'hundred-thousand-files.png') });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#detail:not([open])', { state: 'attached' });
  await page.fill('#job-filter', '');
  await page.selectOption('#state-filter', 'done');
  await rows(200);
  assert.equal(await page.textContent('#jobs-count'), '(1,002)');
  await page.selectOption('#state-filter', 'failed');
  await rows(0);
  assert.equal(await page.textContent('#jobs-empty'), 'No job matches.');
  await page.selectOption('#state-filter', '');
  assert.deepEqual(seen.errors, []);
});
