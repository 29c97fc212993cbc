import { afterAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, serve, type Served } from './harness.ts';

/** 100,000 short chat records, a third of them repeated or nearly repeated. */
function bigDataset(): Buffer {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi'.split(' ');
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const k = i % 66_000;
    const q = `What does ${words[k % 16]} ${words[(k * 7) % 16]} ${words[(k * 3) % 16]} mean in case ${k}?`;
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: i >= 66_000 && i % 2 ? `${q}!` : q }, { role: 'assistant', content: `It means ${words[(k * 5) % 16]} number ${k}.` }] }));
  }
  return Buffer.from(lines.join('\n'));
}

describe('data preparation in the Worker', () => {
  let browser: Browser;
  let server: Served;
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('cleans and de-duplicates 100,000 records without freezing the page (records/s printed)', async () => {
    server = await serve();
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${server.url}/?nosw#data`);
    await page.getByText('demo-base', { exact: false }).first().waitFor({ timeout: 60_000 });
    await page.locator('input[type=file]:not([webkitdirectory])').setInputFiles({ name: 'big.jsonl', mimeType: 'application/jsonl', buffer: bigDataset() });
    await page.getByRole('button', { name: /big\.jsonl/ }).waitFor({ timeout: 120_000 });
    await page.getByRole('tab', { name: /^Prepare/ }).click();
    await page.getByLabel('Personal data', { exact: false }).selectOption('off');
    // Watch the main thread while the Worker prepares: long tasks and the longest gap between frames.
    await page.evaluate(() => {
      const w = window as unknown as { longTasks: number[]; maxGap: number; watching: boolean };
      w.longTasks = [];
      w.maxGap = 0;
      w.watching = true;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({ entryTypes: ['longtask'] });
      let last = performance.now();
      const frame = (t: number) => {
        w.maxGap = Math.max(w.maxGap, t - last);
        last = t;
        if (w.watching) requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Prepare a new version' }).click();
    await page.locator('pre.report').waitFor({ timeout: 300_000 });
    const seconds = (Date.now() - t0) / 1000;
    const watch = await page.evaluate(() => {
      const w = window as unknown as { longTasks: number[]; maxGap: number; watching: boolean };
      w.watching = false;
      return { longTasks: w.longTasks, maxGap: w.maxGap };
    });
    const report = await page.locator('pre.report').textContent();
    console.log(`browser Worker: 100,000 records cleaned and de-duplicated in ${seconds.toFixed(1)} s = ${Math.round(100_000 / seconds)} records/s; main thread: ${watch.longTasks.length} long tasks (max ${Math.round(Math.max(0, ...watch.longTasks))} ms), longest frame gap ${Math.round(watch.maxGap)} ms`);
    expect(report).toMatch(/records: 100000 → \d+/);
    expect(Math.max(0, ...watch.longTasks)).toBeLessThan(250);
  }, 600_000);
});
