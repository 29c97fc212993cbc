#!/usr/bin/env node
/**
 * Browser figures for `npm run bench:browser` (JSON lines on stdout): data preparation of 100,000
 * records in the Worker (records/s) and how responsive the page's main thread stays meanwhile
 * (long tasks, longest gap between frames). Tests assert behaviour only; these numbers live here.
 * Needs the built app (dist/app; the npm script builds it) and Chromium (CHROMIUM_PATH or /usr/bin/chromium).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const APP = fileURLToPath(new URL('../dist/app/', import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };
const RECORDS = 100_000;

function fail(message) {
  process.stderr.write(`bench-browser: ${message}\n`);
  process.exit(1);
}

function serveApp() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const file = join(APP, normalize(path === '/' ? '/index.html' : path));
    if (!file.startsWith(APP) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Short chat records, a third of them repeated or nearly repeated (the same shape as the e2e test's). */
function dataset() {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi'.split(' ');
  const lines = [];
  for (let i = 0; i < RECORDS; i++) {
    const k = i % 66_000;
    const q = `What does ${words[k % 16]} ${words[(k * 7) % 16]} ${words[(k * 3) % 16]} mean in case ${k}?`;
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: i >= 66_000 && i % 2 ? `${q}!` : q }, { role: 'assistant', content: `It means ${words[(k * 5) % 16]} number ${k}.` }] }));
  }
  return Buffer.from(lines.join('\n'));
}

async function main() {
  if (!existsSync(join(APP, 'index.html'))) fail('dist/app is not built: run `npm run build:app`');
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) fail(`Chromium not found at ${executablePath}`);
  const server = await serveApp();
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/?nosw#data`);
    await page.getByText('demo-base', { exact: false }).first().waitFor({ timeout: 300_000 });
    const input = page.locator('input[type=file]:not([webkitdirectory])');
    await input.setInputFiles({ name: 'big.jsonl', mimeType: 'application/jsonl', buffer: dataset() }, { timeout: 300_000 });
    await page.getByRole('button', { name: /^big\.jsonl/ }).waitFor({ timeout: 300_000 });
    await page.getByRole('tab', { name: /^Prepare/ }).click();
    await page.getByLabel('Personal data', { exact: false }).selectOption('off');
    await page.evaluate(() => {
      const w = window;
      w.benchLongTasks = [];
      w.benchMaxGap = 0;
      w.benchWatching = true;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.benchLongTasks.push(e.duration))).observe({ entryTypes: ['longtask'] });
      let last = performance.now();
      const frame = (t) => {
        w.benchMaxGap = Math.max(w.benchMaxGap, t - last);
        last = t;
        if (w.benchWatching) requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    const t0 = performance.now();
    await page.getByRole('button', { name: 'Prepare a new version' }).click();
    await page.locator('pre.report').waitFor({ timeout: 600_000 });
    const seconds = (performance.now() - t0) / 1000;
    const watch = await page.evaluate(() => {
      window.benchWatching = false;
      return { longTasks: window.benchLongTasks, maxGap: window.benchMaxGap };
    });
    const line = {
      bench: 'browser-prepare', records: RECORDS, seconds: Number(seconds.toFixed(2)), records_per_sec: Math.round(RECORDS / seconds),
      main_thread_long_tasks: watch.longTasks.length, longest_long_task_ms: Math.round(Math.max(0, ...watch.longTasks)), longest_frame_gap_ms: Math.round(watch.maxGap),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => fail(e instanceof Error ? e.message : String(e)));
