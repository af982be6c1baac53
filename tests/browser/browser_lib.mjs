// tests/browser/browser_lib.mjs: Debian's chromium, headless, through
// playwright-core, with a fresh profile per run; and the page's own errors
// (uncaught exceptions, CSP refusals, failed loads) collected so that tests
// can insist there were none.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = process.env.FERRY_SCREENSHOTS || join(here, '..', '..', 'build', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

export const LAPTOP = { width: 1366, height: 800 };
export const WIDE = { width: 1920, height: 1080 };

// A persistent context on a new temp directory: the profile is ours, fresh,
// and removed on close (playwright refuses --user-data-dir in args).
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'ferry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: LAPTOP,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Watches a page: `errors` collects uncaught exceptions, console errors
// (CSP refusals among them) other than the expected ones, and answers that
// mean the page asked for something that is not there (404) or broke the
// server (5xx). The API's 400/401/403 are answers the page shows.
export function watch(page, expected = []) {
  const w = { errors: [] };
  page.on('pageerror', (e) => w.errors.push(`exception: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error' || /^Failed to load resource/.test(m.text())) return;
    if (!expected.some((re) => re.test(m.text()))) w.errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() === 404 || r.status() >= 500) w.errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return w;
}
