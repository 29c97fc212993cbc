/**
 * Preference data in Chromium, end to end: personal data in any field of a pair (the rejected
 * answer, every turn of a conversation) is masked by Prepare and listed by where it was; a DPO run
 * (with rpo_alpha) on the prepared version holds out the validation share of pairs and shows their
 * loss and rewards before and after, in Train and with the run in Runs.
 */
import { describe, expect, it } from 'vitest';
import { dataSection, fill, importDataset, openTab, openWithHubModel, withHubApp } from './app-helpers.ts';

const WORDS = ['sun', 'moon', 'star', 'sky', 'sea', 'tree', 'rock', 'bird', 'rain', 'snow'];
const EMAIL = 'ada.lovelace@example.org';
const PHONE = '+1 415 555 0132';

/** 20 pairs; the first rejected answer holds an email, the second pair is a conversation with a phone number in its rejected turn. */
function pairs(): Buffer {
  const lines = WORDS.concat(WORDS).map((w, i) => {
    const other = WORDS[(i + 3) % WORDS.length]!;
    if (i === 0) return { prompt: `say ${w}`, chosen: ` ${w}`, rejected: ` mail ${EMAIL}` };
    if (i === 1) {
      return {
        prompt: [{ role: 'user', content: `say ${w}` }],
        chosen: [{ role: 'assistant', content: w }],
        rejected: [{ role: 'assistant', content: `call ${PHONE}` }],
      };
    }
    return { prompt: `say ${w}`, chosen: ` ${w}`, rejected: ` ${other}` };
  });
  return Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n'));
}

describe('the app in Chromium: preference data privacy and held-out evaluation', () => {
  const app = withHubApp();

  it('masks personal data in every field of the pairs, then shows held-out rewards before and after a DPO run', async () => {
    const { context, page, errors } = await openWithHubModel(app, { height: 900 });

    await importDataset(page, 'pairs.jsonl', pairs());
    await dataSection(page, 'Prepare');
    // The pairs repeat prompts and chosen answers on purpose (20 pairs over 10 words): keep them all.
    await page.getByLabel('Exact duplicates').uncheck();
    await page.getByLabel('Near duplicates').uncheck();
    await page.getByRole('button', { name: 'Prepare a new version' }).click();
    const report = page.getByRole('region', { name: 'Preparation report' });
    await report.waitFor({ timeout: 60_000 });
    const text = (await report.textContent()) ?? '';
    // Where each was found (the app's report shows the placeholder, never the match).
    expect(text).toContain('pairs.jsonl:1 · rejectedemail[EMAIL]masked');
    expect(text).toContain('pairs.jsonl:2 · rejected[0].contentphone[PHONE]masked');
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(PHONE);

    await openTab(page, 'Train');
    await page.getByTestId('train-method').selectOption('dpo');
    await page.getByRole('radiogroup', { name: 'Fine-tuning method' }).locator('input[value="lora"]').check();
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '4');
    await fill(page, 'Batch size', '2');
    await fill(page, 'Learning rate', '0.02');
    // RPO: the chosen answers' NLL joins the loss (its weight is saved with the run, shown in Runs).
    await fill(page, 'RPO α (rpo_alpha)', '1');
    await fill(page, 'Run name', 'dpo held out');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 120_000 }).toBe('finished');

    const table = page.getByTestId('preference-held-out');
    const cells = async (row: string) => (await table.getByTestId(row).locator('td').allTextContents()).map((t) => t.trim());
    await expect.poll(async () => (await cells('held-out-loss'))[1], { timeout: 30_000 }).toMatch(/^\d/);
    expect(await table.locator('h3').textContent()).toBe('Held-out pairs: 2');
    const [lossBefore, lossAfter] = await cells('held-out-loss');
    const [accBefore, accAfter] = await cells('held-out-rewards-accuracies');
    console.log(`app DPO held out (2 pairs, 4 steps): loss ${lossBefore} -> ${lossAfter}, rewards/accuracies ${accBefore} -> ${accAfter}`);
    // LoRA starts with B = 0: the policy is its reference, so DPO's loss is ln 2 (plus 1 × nll_loss) and no reward is ahead.
    const [nllBefore] = await cells('held-out-nll_loss');
    expect(Number(nllBefore)).toBeGreaterThan(0);
    // (Cells show 4 significant figures: each is off by up to 5e-4 at these sizes.)
    expect(Math.abs(Number(lossBefore) - Number(nllBefore) - Math.LN2)).toBeLessThan(1.2e-3);
    expect(Math.abs(Number((await cells('held-out-rewards-margins'))[0]))).toBeLessThan(1e-4);
    expect(Number(lossAfter)).toBeGreaterThan(0);

    await openTab(page, 'Runs');
    await page.getByRole('button', { name: 'dpo held out', exact: true }).first().click();
    await expect.poll(async () => (await cells('held-out-loss'))[1]).toBe(lossAfter);
    expect(await page.getByTestId('feedback-lineage').textContent()).toContain('DPO (β 0.1, sigmoid loss, rpo_alpha 1)');
    expect(errors).toEqual([]);
    await context.close();
  });
});
