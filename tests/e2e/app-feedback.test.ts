/**
 * The feedback loop in Chromium: answers in the playground are rated, edited and picked side by
 * side; the records are stored in the serve log's shape (what `tabtune data feedback` reads);
 * "Turn feedback into a dataset" makes DPO pairs remembering the rated model; a few DPO steps
 * draw the reward charts; the Runs view shows the lineage.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { fill, openTab, openWithHubModel, SHOTS, withHubApp } from './app-helpers.ts';
import { preferencePairs } from '../../src/core/serve/feedback-dataset.ts';
import type { FeedbackRecord } from '../../src/core/serve/monitor.ts';

describe('the app in Chromium: the feedback loop', () => {
  const app = withHubApp();
  beforeAll(() => mkdirSync(SHOTS, { recursive: true }));

  it('rates, edits and picks answers, turns the feedback into DPO pairs, trains DPO and charts the rewards', async () => {
    const { context, page, errors } = await openWithHubModel(app, { height: 900 });

    // Chat: two answers; the first is rated 👎 and edited into the answer wanted, the second 👍.
    await openTab(page, 'Evaluate');
    const pg = page.getByRole('region', { name: 'Playground' });
    await pg.getByLabel('Max new tokens', { exact: true }).fill('8');
    const send = async (text: string) => {
      await pg.getByLabel('Message', { exact: true }).fill(text);
      await pg.getByRole('button', { name: 'Send' }).click();
      await pg.getByRole('button', { name: 'Send' }).waitFor({ timeout: 60_000 });
    };
    await send('say sun');
    await send('say sea');
    const bars = pg.getByTestId('answer-feedback');
    await expect.poll(() => bars.count()).toBe(2);
    await bars.nth(0).getByRole('button', { name: 'Bad answer' }).click();
    await bars.nth(0).getByRole('button', { name: 'Edit' }).click();
    await bars.nth(0).getByLabel('The answer you wanted').fill('sun');
    await bars.nth(0).getByRole('button', { name: 'Save edit' }).click();
    await bars.nth(0).getByText('edited: the wanted answer is saved').waitFor();
    await bars.nth(1).getByRole('button', { name: 'Good answer' }).click();
    await expect.poll(() => bars.nth(1).getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed')).toBe('true');

    // Side by side: two samples of the base model, B picked as the better.
    await pg.getByRole('radio', { name: 'Side by side' }).check();
    await pg.getByLabel('Two samples from A instead (sampled, not greedy)').check();
    await pg.getByLabel('Prompt for both answers').fill('say sky');
    await pg.getByRole('button', { name: 'Answer both' }).click();
    await pg.getByRole('button', { name: 'B is better' }).click({ timeout: 60_000 });
    await pg.getByText('Pick saved.').waitFor();
    await expect.poll(() => page.getByTestId('feedback-counts').textContent()).toBe('2 ratings · 1 picks · 1 edits');
    await page.screenshot({ path: `${SHOTS}feedback-playground-1280.png`, fullPage: true });

    // The stored records, downloaded as the serve log's JSONL: the CLI's reader makes the same pairs.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download log' }).click()]);
    const records = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FeedbackRecord & Record<string, unknown>);
    expect(records.map((r) => r.action)).toEqual(['rating', 'edit', 'rating', 'pick']);
    for (const r of records) {
      expect(r).toMatchObject({ type: 'feedback', adapter: null });
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['type', 'time', 'id', 'adapter', 'prompt', 'completion', 'rating', 'preferred']));
      expect(Array.isArray(r.prompt)).toBe(true);
    }
    expect(records[0]!.rating).toBe(-1);
    expect(records[1]).toMatchObject({ id: records[0]!.id, preferred: 'sun', rating: null });
    expect((records[1]!.prompt as { role: string; content: string }[]).at(-1)).toEqual({ role: 'user', content: 'say sun' });
    expect(records[3]!.preferred).not.toBe(records[3]!.completion);
    expect(preferencePairs(records)).toHaveLength(2);

    // Turn the feedback into a dataset: two DPO pairs, selected, with DPO chosen as the method.
    await page.getByLabel('Feedback on the answers of', { exact: true }).selectOption({ label: 'base model (4)' });
    await page.getByRole('button', { name: 'Turn feedback into a dataset' }).click();
    await page.getByRole('button', { name: 'Train on it' }).click();
    await page.locator('[role=tabpanel][aria-labelledby="tab-train"]').waitFor();
    expect(await page.getByTestId('train-method').inputValue()).toBe('dpo');
    await expect.poll(() => page.getByTestId('method-mismatch').count()).toBe(0);
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '3');
    await fill(page, 'Batch size', '1');
    await page.getByRole('button', { name: 'Start training' }).click();
    const charts = page.getByTestId('reward-charts');
    await expect.poll(async () => Number(await charts.getAttribute('data-points', { timeout: 1000 }).catch(() => '0')), { timeout: 120_000 }).toBe(3);
    await expect.poll(() => charts.locator('canvas').count()).toBeGreaterThanOrEqual(3);
    await page.getByRole('button', { name: 'Start training' }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${SHOTS}feedback-train-1280.png`, fullPage: true });

    // Runs: the DPO run names its method and where its data came from.
    await openTab(page, 'Runs');
    const lineage = page.getByTestId('feedback-lineage');
    await expect.poll(() => lineage.textContent(), { timeout: 10_000 }).toContain('DPO (β 0.1, sigmoid loss)');
    expect(await lineage.textContent()).toMatch(/Data from feedback: the base model's answers \(2 ratings, 1 picks, 1 edits\)\s*→ feedback on the base model/);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);
});
