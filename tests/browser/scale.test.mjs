// The page with 1,000 jobs and a job of 5,000 files: rows are paginated (200
// at a time) and file results paged, so the page stays small and quick.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { tempTree, startDaemon, cleanup, sleep } from '../system/daemon_lib.mjs';

const t = tempTree();
const tiny = join(t.root, 'tiny.exr');
writeFileSync(tiny, 'x');
const many = join(t.root, 'many');
mkdirSync(many);
for (let i = 0; i < 5000; i++) writeFileSync(join(many, `f.${String(i).padStart(5, '0')}.exr`), 'y');

let d, browser, page, bigJob;

before(async () => {
  d = await startDaemon(t, ['--max-running', '8']);
  for (let i = 0; i < 1000; i++) {
    const r = await d.api('POST', '/api/jobs', { sources: [tiny], dest: join(t.root, 'out', String(i)), fsync: false, tag: `t${i % 10}` });
    assert.equal(r.status, 201);
  }
  bigJob = (await d.api('POST', '/api/jobs', { sources: [many], dest: join(t.root, 'big'), fsync: false })).json.id;
  for (let i = 0; i < 600; i++) {
    const r = await d.api('GET', `/api/jobs/${bigJob}`);
    if (r.json.state === 'done') break;
    await sleep(100);
  }
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
});

after(async () => {
  await browser?.close();
  await d?.stop();
  cleanup(t);
});

test('1,001 jobs: the newest 200 rows, then more on demand', async () => {
  const t0 = Date.now();
  await page.goto(`${d.base}/#token=${d.token}`);
  await page.waitForSelector('[data-testid="job-row"]');
  console.log(`# first rows shown ${Date.now() - t0} ms after navigation`);
  assert.equal(await page.locator('[data-testid="job-row"]').count(), 200);
  assert.equal(await page.locator('[data-testid="job-row"]').first().getAttribute('data-job-id'), bigJob, 'newest first');
  await page.click('#more-jobs');
  assert.equal(await page.locator('[data-testid="job-row"]').count(), 400);
  // Live updates still reach a row quickly with a long list.
  const fresh = (await d.api('POST', '/api/jobs', { sources: [tiny], dest: join(t.root, 'fresh'), fsync: false })).json.id;
  await page.locator(`[data-job-id="${fresh}"] [data-testid="job-state"]`, { hasText: 'done' }).waitFor({ timeout: 10000 });
});

test('a 5,000-file job: results are paged, 200 at a time', async () => {
  await page.locator(`[data-job-id="${bigJob}"] >> text=Details`).click();
  await page.waitForSelector('[data-testid="file-row"]');
  assert.equal(await page.locator('[data-testid="file-row"]').count(), 200);
  await page.click('#detail-next');
  await page.waitForFunction(() => document.querySelector('#detail-page').textContent.startsWith('files 201'));
  assert.equal(await page.locator('[data-testid="file-row"]').count(), 200);
  await page.click('#detail-close');
});
