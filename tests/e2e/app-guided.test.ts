/**
 * A new user's first run in Chromium, using the guided buttons: the GPU check says what it waits
 * for, the demo model loads, "Try the demo data", "Set up training →", a run with the core's
 * default settings (fewer steps) watched in the classroom view, Stop at the end of a step, the log
 * after a reload, "Evaluate this run →" on the run's own validation data (Cancel, then a full
 * evaluation), "Export →". Then the app items: delete labels and focus, a Hub id checked before
 * fetching, the Prepare report without the personal data it masked, token details by tap.
 * Screenshots of every view (the classroom view too) at 1280×800 and 390 px.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { DEMO_TASK } from '../../src/core/train/demo-run.ts';
import { sci } from '../../src/app/lib/format.ts';
import {
  clipped, dataSection, datasetButton, dismissNotices, fill, openApp, openTab, overflow, SHOTS, stepCount, unlabelled, VIEWS, waitForGpu, withApp,
} from './app-helpers.ts';

const EMAIL = 'ada.lovelace@example.org';
const next = (page: Page) => page.getByRole('region', { name: 'Next step' });
const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent?.trim() || '');

describe('the app guides a new user', () => {
  const app = withApp();
  beforeAll(() => mkdirSync(SHOTS, { recursive: true }));

  it('from first load to an evaluated run with the guided buttons, and the app items', async () => {
    // Every text the GPU badge shows, from the first paint on.
    const gpuBadgeTexts = () => {
      const seen: string[] = ((window as unknown as { gpuTexts: string[] }).gpuTexts = []);
      new MutationObserver(() => {
        const t = document.querySelector('header .status li')?.textContent?.trim();
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    };
    const { context, page, errors } = await openApp(app, '/?nosw', { consoleErrors: true, prepare: (c) => c.addInitScript(gpuBadgeTexts) });
    const gpuTexts = await page.evaluate(() => (window as unknown as { gpuTexts: string[] }).gpuTexts);
    const checking = gpuTexts.filter((t) => /check/i.test(t));
    expect(checking.length).toBeGreaterThan(0);
    for (const t of checking) expect(t).toMatch(/^Checking the GPU: (starting the training worker|asking the browser for its GPU \(WebGPU\))… \d+ s$/);

    // The demo model loads by itself; the next step is data.
    await expect.poll(() => next(page).textContent(), { timeout: 120_000 }).toContain('Add data →');
    expect(await page.getByTestId('where').textContent()).toBe('Step 2 of 7: choose model');
    await next(page).getByRole('button', { name: 'Try the demo data' }).click();
    await datasetButton(page, 'demo-grounded-qa.jsonl').waitFor({ timeout: 60_000 });
    // The held-out questions come too (for the Evaluate view); the training questions are selected.
    expect(await datasetButton(page, 'demo-grounded-qa-eval.jsonl').count()).toBe(1);
    expect(await page.getByTestId('where').textContent()).toBe('Step 1 of 7: prepare data');
    await next(page).getByRole('button', { name: 'Set up training →' }).click();
    expect(await page.getByTestId('where').textContent()).toBe('Step 3 of 7: set up');

    // The demo data's settings are the demo task's run (as `tabtune demo`), and the page says why.
    expect(await page.getByLabel('Learning rate', { exact: true }).inputValue()).toBe(String(DEMO_TASK.lr));
    expect(await page.getByLabel('Steps', { exact: true }).inputValue()).toBe(String(DEMO_TASK.steps));
    expect(await page.getByTestId('defaults-why').textContent()).toContain(`learning rate ${sci(DEMO_TASK.lr)}`);
    expect(await page.getByLabel('Run name', { exact: true }).getAttribute('placeholder')).toBe('demo-grounded-qa.jsonl · LoRA r16 · run 1');

    // The classroom view answers its three questions with the base model before training.
    await openTab(page, 'Classroom');
    for (let i = 0; i < 3; i++) await expect.poll(() => page.getByTestId(`class-base-${i}`).textContent(), { timeout: 120_000 }).not.toBe('…');

    // Default settings, fewer steps; focus goes to Pause when it runs.
    await openTab(page, 'Train');
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '40');
    await fill(page, 'Validate every (steps)', '4');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => stepCount(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => focused(page), { timeout: 30_000 }).toBe('Pause');
    expect(await page.getByTestId('where').textContent()).toBe('Step 4 of 7: fine-tune');

    // The classroom view follows the run: counters, curve, the fine-tuned answers every 2 steps.
    await next(page).getByRole('button', { name: 'Classroom view →' }).click();
    await fill(page, 'Ask again every (steps)', '2');
    await expect.poll(async () => Number(await page.getByTestId('class-step').evaluate((e) => e.firstChild?.textContent)), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.getByTestId('class-tuned-0').textContent(), { timeout: 180_000 }).not.toMatch(/^(…|after the first steps)$/);
    expect(await page.getByTestId('class-tokens').textContent()).not.toBe('0');
    await page.locator('figure[aria-label^="Loss by step"] canvas').first().waitFor();
    await page.screenshot({ path: `${SHOTS}classroom-live-1280.png`, fullPage: true });

    // Stop: it ends at the end of the step, the remaining time clears, one checkpoint line.
    await openTab(page, 'Train');
    await expect.poll(() => stepCount(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(5);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByText(/^Stopping at the end of step \d+/).waitFor({ timeout: 10_000 }).catch(() => undefined);
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 120_000 }).toBe('stopped');
    const stoppedAt = await stepCount(page);
    expect(await page.getByTestId('remaining').textContent()).toBe('—');
    const logTexts = async () => page.locator('.log li .text').allTextContents();
    const lines = await logTexts();
    expect(lines.filter((t) => t === `checkpoint saved at step ${stoppedAt}`)).toHaveLength(1);
    expect(lines).toContain(`run stopped at the end of step ${stoppedAt}; it can continue from that checkpoint (Runs view)`);
    // The log survives a reload (it is rebuilt from the run's stored events).
    await page.reload();
    await waitForGpu(page);
    await openTab(page, 'Train');
    await expect.poll(logTexts, { timeout: 60_000 }).toContain(`run stopped at the end of step ${stoppedAt}; it can continue from that checkpoint (Runs view)`);
    expect((await logTexts()).some((t) => t.startsWith('validation loss'))).toBe(true);
    // The next run gets a fresh name.
    expect(await page.getByLabel('Run name', { exact: true }).getAttribute('placeholder')).toBe('demo-grounded-qa.jsonl · LoRA r16 · run 2');

    // "Evaluate this run →": the run's own validation data, named.
    await next(page).getByRole('button', { name: 'Evaluate this run →' }).click({ timeout: 120_000 });
    expect(await page.getByTestId('where').textContent()).toBe('Step 5 of 7: evaluate');
    const target = await page.getByTestId('eval-target').textContent();
    expect(target).toContain('the validation split of demo-grounded-qa.jsonl');
    expect(target).toContain("the run's own validation data");
    // Evaluation with generation can be cancelled; its progress shows a total from the start.
    await fill(page, 'Max examples', '16');
    await page.getByLabel('Also generate answers', { exact: false }).check();
    await page.getByRole('button', { name: 'Evaluate before and after' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Evaluating the base model: cancelled').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('ppl-base').count()).toBe(0);
    await page.getByLabel('Also generate answers', { exact: false }).uncheck();
    await page.getByRole('button', { name: 'Evaluate before and after' }).click();
    await expect.poll(() => page.getByTestId('ppl-tuned').count(), { timeout: 180_000 }).toBe(1);
    await expect.poll(() => page.getByTestId('ppl-tuned').textContent(), { timeout: 180_000 }).not.toBe('—');
    expect(await page.getByTestId('ppl-change').textContent()).toMatch(/^(\d[\d,.]*× (lower|higher)|\d+% (lower|higher)|about the same)$/);
    expect(await page.getByTestId('eval-headline').textContent()).toMatch(/^Perplexity [\d,.]+ → [\d,.]+ \(/);
    expect(await page.getByTestId('eval-scored').textContent()).toContain('demo-grounded-qa.jsonl');
    await next(page).getByRole('button', { name: 'Export →' }).click();
    expect(await page.getByTestId('where').textContent()).toBe('Step 6 of 7: deploy');

    // Token details open by tap (phones have no hover).
    await openTab(page, 'Evaluate');
    await page.getByLabel('Message', { exact: true }).fill('Peru is in South America.\nQuestion: Which region is Peru in?');
    await page.getByRole('button', { name: 'Send' }).click();
    const token = page.locator('.msg.assistant .conf .t').first();
    await token.waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Send' }).waitFor({ timeout: 60_000 });
    await token.tap().catch(() => token.click());
    expect(await page.locator('.msg.assistant .tip[role=status]').first().textContent()).toMatch(/p = [\d.]+% · log p = -?[\d.]+ · entropy [\d.]+ nats/);

    // A Hub id is checked before anything is fetched.
    await openTab(page, 'Model');
    const before = app.server.requests.length;
    await page.getByLabel('Repository', { exact: true }).fill('gpt2');
    expect(await page.getByText(/^Not a Hub repository id: add the owner/).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Download and load' }).isDisabled()).toBe(true);
    await page.getByLabel('Repository', { exact: true }).fill('Qwen/Qwen 2.5');
    expect(await page.getByText(/^Not a Hub repository id: the name may hold only letters/).count()).toBe(1);
    expect(app.server.requests.slice(before).filter((r) => r.url.includes('/resolve/'))).toEqual([]);

    // The Prepare report masks personal data and never prints it elsewhere.
    await openTab(page, 'Data');
    const rows = [`{"prompt":"Write  to ${EMAIL}","completion":"Done: mailed ${EMAIL}."}`, '{"prompt":"Say hi","completion":"hi"}', '{"prompt":"Say hi","completion":"hi"}'];
    await page.locator('input[type=file][accept*=".jsonl"]').setInputFiles({ name: 'contacts.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(rows.join('\n')) });
    await datasetButton(page, 'contacts.jsonl').waitFor({ timeout: 30_000 });
    await dataSection(page, 'Prepare');
    await page.getByRole('button', { name: 'Prepare a new version' }).click();
    await page.locator('pre.report').waitFor({ timeout: 60_000 });
    const report = (await page.getByRole('region', { name: 'Preparation report' }).textContent()) ?? '';
    expect(report).toContain('[EMAIL]');
    expect(report).not.toContain(EMAIL);
    expect(report).not.toContain('ada.lo');

    // Screenshots of every view at both widths: nothing scrolls sideways or is cut.
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      for (const view of VIEWS) {
        await openTab(page, view);
        await dismissNotices(page);
        await page.screenshot({ path: `${SHOTS}guided-${view.toLowerCase()}-${width}.png`, fullPage: true });
        expect(await overflow(page), `${view} overflows at ${width} px`).toBeLessThanOrEqual(0);
        expect(await clipped(page), `${view} at ${width} px`).toEqual([]);
        expect(await unlabelled(page), `unlabelled controls in ${view}`).toEqual([]);
      }
    }

    // Each delete button names its dataset; focus lands on the next control after deleting.
    await page.setViewportSize({ width: 1280, height: 800 });
    await openTab(page, 'Data');
    await page.getByRole('button', { name: 'Delete dataset contacts.jsonl' }).click();
    expect(await focused(page)).toBe('Keep contacts.jsonl');
    await page.getByRole('button', { name: 'Delete contacts.jsonl for good' }).click();
    await datasetButton(page, 'contacts.jsonl').waitFor({ state: 'detached' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-pick') !== null)).toBe(true);
    await page.getByRole('button', { name: 'Delete dataset demo-grounded-qa.jsonl' }).click();
    await page.getByRole('button', { name: 'Delete demo-grounded-qa.jsonl for good' }).click();
    await datasetButton(page, 'demo-grounded-qa.jsonl').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete dataset demo-grounded-qa-eval.jsonl' }).click();
    await page.getByRole('button', { name: 'Delete demo-grounded-qa-eval.jsonl for good' }).click();
    await expect.poll(() => focused(page)).toBe('Add the demo dataset');
    expect(errors).toEqual([]);
    await context.close();
  }, 900_000);
});
