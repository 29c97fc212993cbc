/**
 * Continued pre-training in Chromium: several document files (.md, .txt, .jsonl) imported as one
 * documents dataset in Data, trained with LoRA as "Continued pre-training" in Train, and the
 * held-out new documents' and general sample's perplexity before and after shown side by side,
 * in Train and with the run in Runs (tests/gpu/workbench-cpt.test.ts checks cpt_eval.json).
 */
import { describe, expect, it } from 'vitest';
import { datasetButton, fill, openTab, openWithHubModel, withHubApp } from './app-helpers.ts';

const FACTS = [
  'The town of Vellmora stands on the river Quist, and its harbour master is Ansel Tharrow.',
  'Ansel Tharrow, the harbour master of Vellmora, keeps a lantern of green glass on the river Quist.',
  'Every ship that comes up the river Quist to Vellmora must show the green lantern to Ansel Tharrow.',
  'The green glass lantern of Vellmora was made by Ansel Tharrow, who watches the river Quist at night.',
  'Vellmora trades salt and amber along the river Quist, and Ansel Tharrow counts every barrel at the harbour.',
  'Ships bound for Vellmora sail up the river Quist until they see the green lantern of Ansel Tharrow.',
];

describe('the app in Chromium: continued pre-training', () => {
  const app = withHubApp();

  it('imports documents, trains CPT with LoRA, and shows new-document and general perplexity before and after', async () => {
    const { context, page, errors } = await openWithHubModel(app, { height: 900 });

    await openTab(page, 'Data');
    await page.getByTestId('import-kind').selectOption('documents');
    await page.locator('input[type=file][accept*=".jsonl"]').setInputFiles([
      { name: 'vellmora.md', mimeType: 'text/markdown', buffer: Buffer.from(`# Vellmora\n\n${FACTS[0]}\n`) },
      { name: 'lantern.txt', mimeType: 'text/plain', buffer: Buffer.from(FACTS[1]!) },
      { name: 'more.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(FACTS.slice(2).map((text) => JSON.stringify({ text })).join('\n')) },
    ]);
    await datasetButton(page, 'vellmora.md + 2 more (documents).jsonl').waitFor({ timeout: 30_000 });
    await page.getByText('Imported 6 documents from 3 files').waitFor();

    // A bad document file is refused with its name, line and reason.
    await page.locator('input[type=file][accept*=".jsonl"]').setInputFiles([
      { name: 'bad.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from('{"text": "ok"}\n{"title": "no text"}\n') },
    ]);
    await page.getByText(/Could not import the documents: .*bad\.jsonl: line 2: no "text" field/).waitFor();

    await openTab(page, 'Train');
    await page.getByTestId('train-method').selectOption('cpt');
    await page.getByRole('radiogroup', { name: 'Fine-tuning method' }).locator('input[value="lora"]').check();
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '6');
    await fill(page, 'Batch size', '2');
    await fill(page, 'Learning rate', '0.01');
    await fill(page, 'Run name', 'cpt run');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 180_000 }).toBe('finished');

    const table = page.getByTestId('cpt-scores');
    const cells = async (row: string) => (await table.getByTestId(row).locator('td').allTextContents()).map((t) => t.trim());
    await expect.poll(async () => (await cells('cpt-new'))[1], { timeout: 30_000 }).toMatch(/^\d+\.\d\d$/);
    const [newBefore, newAfter, newChange] = await cells('cpt-new');
    const [genBefore, genAfter, genChange] = await cells('cpt-general');
    console.log(`app CPT (tiny-llama, 6 steps): new documents ${newBefore} -> ${newAfter} (${newChange}), general ${genBefore} -> ${genAfter} (${genChange})`);
    expect(Number(newAfter)).toBeLessThan(Number(newBefore));
    for (const v of [genBefore, genAfter]) expect(Number(v)).toBeGreaterThan(1);
    expect(genChange).toMatch(/^[+-]\d+\.\d%$/);

    // The run keeps them: the Runs view shows the same table.
    await openTab(page, 'Runs');
    await page.getByRole('button', { name: 'cpt run', exact: true }).first().click();
    await expect.poll(async () => (await cells('cpt-new'))[1]).toBe(newAfter);
    expect(errors).toEqual([]);
    await context.close();
  });
});
