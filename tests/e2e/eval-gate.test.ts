/**
 * The gate before export and the leaderboard in Chromium: a Hub model, an imported PEFT adapter,
 * a suite written in the Export view and run on the base and the adapter, the gate's verdict per
 * task, the suite saved, and the Runs view's leaderboard (base first, sortable) with its chart.
 * Build first: npx vite build
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openTab, openWithHubModel, TINY_LLAMA, withHubApp } from './app-helpers.ts';

const SUITE = JSON.stringify({
  name: 'e2e gate',
  tasks: [
    { name: 'general', task: 'mc', data: 'general-mc.sample.jsonl', metric: 'acc_norm', general: true, max_drop: 1 },
    { name: 'unreachable', task: 'mc', data: 'general-mc.sample.jsonl', metric: 'acc', min: 1.5 },
  ],
});

describe('the gate before export and the leaderboard', () => {
  const app = withHubApp();

  it('runs a suite from the Export view, shows the gate, saves the suite, and lists the runs on the leaderboard', async () => {
    const { context, page } = await openWithHubModel(app);

    await openTab(page, 'Export');
    await page.locator('input[type=file][webkitdirectory]').first().setInputFiles(join(TINY_LLAMA, 'adapter'));
    await page.getByText('Imported adapter "adapter"').waitFor({ timeout: 60_000 });

    const gate = page.getByRole('region', { name: 'Gate before export' });
    await gate.getByLabel('Fine-tuned run').selectOption({ label: 'adapter · imported' });
    await gate.getByText('Edit the suite (JSON)').click();
    await gate.getByLabel('Name').fill('e2e gate');
    await gate.getByLabel(/^Tasks/).fill(SUITE);
    await gate.getByRole('button', { name: 'Run the gate' }).click();
    const verdict = gate.getByRole('status', { name: 'Gate result' });
    await verdict.waitFor({ timeout: 240_000 });
    // One task cannot pass (acc ≥ 1.5): the gate fails and says why; the general task passes.
    await expect(verdict.textContent()).resolves.toMatch(/Gate:\s*FAIL/);
    const rows = gate.getByRole('table', { name: 'Gate by task' }).locator('tbody tr');
    await expect(rows.count()).resolves.toBe(2);
    await expect(rows.nth(0).textContent()).resolves.toMatch(/general.*acc_norm.*pass/s);
    await expect(rows.nth(1).textContent()).resolves.toMatch(/unreachable.*fail.*below the minimum 1\.5/s);
    // Base and fine-tuned values are both shown, as numbers.
    const cells = await rows.nth(0).locator('td.num').allTextContents();
    expect(cells.slice(0, 2).every((c) => /^\d\.\d{3}$/.test(c))).toBe(true);

    await gate.getByRole('button', { name: 'Save suite' }).click();
    await gate.getByLabel('Suite').locator('option', { hasText: 'e2e gate' }).waitFor({ state: 'attached', timeout: 30_000 });

    await openTab(page, 'Runs');
    const board = page.getByRole('table', { name: 'Leaderboard' });
    await board.waitFor({ timeout: 30_000 });
    const names = async () => board.locator('tbody th[scope=row]').allTextContents();
    const listed = await names();
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatch(/\(base\)$/);
    expect(listed[1]).toBe('adapter');
    const header = board.getByRole('button', { name: /general · acc_norm/ });
    await header.click();
    await header.click();
    // Sorting never moves the base model from the first row.
    expect((await names())[0]).toMatch(/\(base\)$/);
    // The chart shows the chosen metric across the base and the run.
    await page.getByLabel('Metric across runs').selectOption({ label: 'general · acc_norm' });
    await page.getByRole('img', { name: /^general · acc_norm by run\. .*\(base\): \d\.\d{3}; adapter: \d\.\d{3}$/ }).waitFor({ timeout: 30_000 });
    await context.close();
  }, 600_000);
});
