/**
 * "Fit to my GPU" in Chromium: the Train view's precision and base choices (SwiftShader has no
 * shader-f16, so f16 is disabled with the reason), the planner run on this adapter's limits under
 * a tight budget, the form filled with its plan (batch, accumulation, sequence length,
 * recomputation, base) and its reasons shown, then a short run that trains with it.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { datasetButton, fill, openApp, openTab, stepCount, withApp } from './app-helpers.ts';

const next = (page: Page) => page.getByRole('region', { name: 'Next step' });
const value = (page: Page, label: string) => page.getByLabel(label, { exact: true }).inputValue();

describe('Fit to my GPU', () => {
  const app = withApp();

  it('disables f16 without shader-f16, fills the form with the plan for a tight budget and trains with it', async () => {
    const { context, page, errors } = await openApp(app, '/?nosw', { height: 900 });
    await expect.poll(() => next(page).textContent(), { timeout: 120_000 }).toContain('Add data →');
    await next(page).getByRole('button', { name: 'Try the demo data' }).click();
    await datasetButton(page, 'demo-grounded-qa.jsonl').waitFor({ timeout: 60_000 });
    await next(page).getByRole('button', { name: 'Set up training →' }).click();
    await openTab(page, 'Train');

    // SwiftShader offers no shader-f16: the f16 choice is off, and the page says why.
    const precision = page.getByLabel('Precision', { exact: true });
    expect(await precision.locator('option[value="f16"]').isDisabled()).toBe(true);
    expect(await precision.locator('option[value="auto"]').isDisabled()).toBe(false);
    expect(await page.getByTestId('precision-hint').textContent()).toMatch(/^f16 unavailable: .*does not offer the WebGPU feature shader-f16$/);
    // The base choice is part of the estimate: NF4 holds the demo model's linear weights in about a seventh.
    await expect.poll(() => page.getByTestId('memory-total').textContent(), { timeout: 60_000 }).not.toBeNull();
    const estimate = async () => (await page.locator('[aria-label^="Memory by purpose"]').getAttribute('aria-label')) ?? '';
    const f32 = await estimate();
    await page.getByLabel('Base weights', { exact: true }).selectOption('int4');
    await expect.poll(estimate, { timeout: 30_000 }).not.toBe(f32);
    expect(await precision.isDisabled()).toBe(true);
    await page.getByLabel('Base weights', { exact: true }).selectOption('none');

    const before = { batch: await value(page, 'Batch size'), seq: await value(page, 'Sequence length') };
    // 24 MiB does not hold the f32 demo model (21 MiB of weights) with its activations: the plan gives something up.
    await fill(page, 'Memory budget (MiB)', '24');
    console.log(`before Fit: batch ${before.batch}, sequence ${before.seq}`);
    await page.getByTestId('fit-button').click();
    const plan = page.getByTestId('fit-plan');
    await plan.waitFor({ timeout: 60_000 });
    const p = Object.fromEntries(await Promise.all(['fits', 'batch', 'accum', 'seq', 'recompute', 'quant', 'precision'].map(async (k) => [k, await plan.getAttribute(`data-${k}`)])));
    console.log(`plan: ${JSON.stringify(p)}`);
    expect(p.fits).toBe('true');
    expect(p.quant).not.toBe('none');
    expect(p.precision).toBe('f32');
    const reasons = await page.getByTestId('fit-reasons').locator('li').allTextContents();
    expect(reasons[0]).toMatch(/^estimate \d+ MiB of the 24 MiB budget/);
    expect(reasons.join('\n')).toMatch(/precision auto: f32 because the adapter lacks shader-f16|the base is (int8|NF4)/);
    // The form now holds the plan.
    await expect.poll(() => value(page, 'Batch size')).toBe(p.batch);
    expect(await value(page, 'Gradient accumulation')).toBe(p.accum);
    await expect.poll(() => value(page, 'Sequence length'), { timeout: 30_000 }).toBe(p.seq);
    expect(await page.getByLabel('Gradient checkpointing (less memory, slower)').isChecked()).toBe(p.recompute === 'true');
    expect(await page.getByLabel('Base weights', { exact: true }).inputValue()).toBe(p.quant);
    expect(await precision.inputValue()).toBe('f32');
    expect([before.batch, before.seq]).not.toEqual([p.batch, p.seq]);

    // A short run with the plan: it trains on the quantised base and finishes.
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '2');
    await page.getByRole('button', { name: 'Start training' }).click();
    console.log('started the run');
    await expect.poll(() => stepCount(page), { timeout: 180_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 180_000 }).toBe('finished');
    expect(await stepCount(page)).toBe(2);
    expect(errors).toEqual([]);
    await context.close();
  }, 480_000);
});
