/**
 * Data preparation of 100,000 records runs in the Worker: the page shows its progress and stays
 * usable meanwhile, and the report counts every record. Speed and main-thread figures are in
 * `npm run bench:browser` (scripts/bench-browser.mjs); this test asserts behaviour only.
 */
import { describe, expect, it } from 'vitest';
import { openTab, withApp } from './app-helpers.ts';

/** 100,000 short chat records: 66,000 distinct, 17,000 exact copies and 17,000 near copies (a "!" added). */
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
  const app = withApp();

  it('cleans and de-duplicates 100,000 records with progress shown and the page usable meanwhile', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.server.url}/?nosw#data`);
    await page.getByText('demo-base', { exact: false }).first().waitFor({ timeout: 120_000 });
    const input = page.locator('input[type=file]:not([webkitdirectory])');
    await input.setInputFiles({ name: 'big.jsonl', mimeType: 'application/jsonl', buffer: bigDataset() }, { timeout: 300_000 });
    await page.getByRole('button', { name: /^big\.jsonl/ }).waitFor({ timeout: 300_000 });
    await page.getByRole('tab', { name: /^Prepare/ }).click();
    await page.getByLabel('Personal data', { exact: false }).selectOption('off');
    await page.getByRole('button', { name: 'Prepare a new version' }).click();
    // The progress shows while the Worker works, and the page answers clicks meanwhile.
    const progress = page.locator('.progress[role=status]');
    await progress.waitFor({ timeout: 60_000 });
    const preparing = await progress.textContent();
    await openTab(page, 'Model');
    await openTab(page, 'Data');
    await page.getByRole('tab', { name: /^Prepare/ }).click();
    await page.locator('pre.report').waitFor({ timeout: 600_000 });
    const report = (await page.locator('pre.report').textContent()) ?? '';
    const kept = Number(/records: 100000 → (\d+)/.exec(report)?.[1]);
    expect(preparing).toBeTruthy();
    // Every exact copy is gone (near-duplicate removal takes many more: the records share one template).
    expect(kept).toBeLessThanOrEqual(83_000);
    expect(kept).toBeGreaterThan(0);
  }, 900_000);
});
