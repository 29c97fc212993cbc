/**
 * The app's other ways in and its failure modes, in Chromium: a model folder from disk (the
 * directory picker input), an unsupported model's error from the Worker, a PEFT adapter folder
 * imported and compared, keyboard navigation of the views, the merged-model and manifest
 * downloads, dark mode, and a browser without WebGPU. The app is built fresh for the test run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { chatJsonl, datasetButton, fill, importDataset, openApp, openTab, SHOTS, TINY_LLAMA, withApp } from './app-helpers.ts';

describe('model folders, adapters, keyboard, no WebGPU', () => {
  const app = withApp();
  beforeAll(() => mkdirSync(SHOTS, { recursive: true }));

  it('loads a model folder from disk, imports a PEFT adapter, exports merged weights and the manifest', async () => {
    const { context, page, errors } = await openApp(app, '/#model');

    // A folder of an unsupported model: the Worker's message is shown as it is.
    const bad = mkdtempSync(join(tmpdir(), 'tabtune-bad-'));
    mkdirSync(join(bad, 'weird-model'));
    writeFileSync(join(bad, 'weird-model', 'config.json'), JSON.stringify({ model_type: 'mamba', architectures: ['MambaForCausalLM'], hidden_size: 8 }));
    writeFileSync(join(bad, 'weird-model', 'model.safetensors'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]));
    await page.locator('input[type=file][webkitdirectory]').first().setInputFiles(join(bad, 'weird-model'));
    const alert = page.getByRole('alert').filter({ hasText: 'The model could not be loaded.' });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toMatch(/mamba/i);

    // The fixture model's folder.
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-model-'));
    const folder = join(dir, 'tiny-llama');
    mkdirSync(folder);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'generation_config.json']) copyFileSync(join(TINY_LLAMA, f), join(folder, f));
    await page.locator('input[type=file][webkitdirectory]').first().setInputFiles(folder);
    const summary = page.getByRole('region', { name: 'Loaded model' });
    await summary.getByText('from the folder “tiny-llama” on this computer').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('alert').count()).toBe(0);

    // Keyboard: the views are a tablist; arrow keys move between them.
    await page.getByRole('tab', { name: 'Model', exact: true }).focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('tab-data');
    expect(await page.getByRole('tab', { name: 'Data', exact: true }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('End');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('tab-classroom');
    await page.keyboard.press('Home');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('tab-model');

    // A PEFT adapter folder (trained with transformers + PEFT) becomes an imported run to compare.
    await openTab(page, 'Export');
    await page.locator('input[type=file][webkitdirectory]').first().setInputFiles(join(TINY_LLAMA, 'adapter'));
    await page.getByText('imported: LoRA r=').waitFor({ timeout: 30_000 });
    await importDataset(page, 'chat.jsonl', chatJsonl(12));
    await openTab(page, 'Export');
    await page.getByRole('button', { name: 'Compare with the base model' }).click();
    await page.getByRole('tab', { name: 'Evaluate', selected: true }).waitFor();
    await page.getByLabel('Split', { exact: true }).selectOption('all');
    await page.getByRole('button', { name: 'Evaluate before and after' }).click();
    await expect.poll(async () => Number(await page.getByTestId('ppl-tuned').textContent()), { timeout: 120_000 }).toBeGreaterThan(0);

    // A CSV with its own column names: mapped to prompt/completion in the Data view.
    await openTab(page, 'Data');
    await page.locator('input[type=file][accept*=".csv"]').setInputFiles({ name: 'qa.csv', mimeType: 'text/csv', buffer: Buffer.from('question,answer\nsay hi,hi there\n"say bye, please",bye now\n') });
    await datasetButton(page, 'qa.csv').waitFor({ timeout: 30_000 });
    await page.getByText(/Column mapping/).click();
    await page.getByLabel('Prompt', { exact: true }).selectOption('question');
    await page.getByLabel('Completion', { exact: true }).selectOption('answer');
    await page.getByRole('button', { name: 'Apply options' }).click();
    await expect.poll(() => page.locator('article.example').first().locator('.tok.trained').allTextContents().then((t) => t.join('')), { timeout: 30_000 }).toContain('hi there');
    await datasetButton(page, 'chat.jsonl').click();

    // Train a few steps, then download the merged model and the manifest.
    await openTab(page, 'Train');
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '2');
    await fill(page, 'Batch size', '2');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 90_000 }).toBe('finished');
    await openTab(page, 'Export');
    await page.getByLabel('Run', { exact: true }).selectOption({ index: 1 });
    const [merged] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the merged model (.zip)' }).click()]);
    const files = Object.keys(unzipSync(new Uint8Array(readFileSync((await merged.path())!)))).map((n) => n.split('/').slice(1).join('/'));
    expect(files).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
    const downloads: string[] = [];
    page.on('download', (d) => downloads.push(d.suggestedFilename()));
    await page.getByRole('button', { name: 'Download the run manifest and TRL config' }).click();
    await expect.poll(() => downloads.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    expect(downloads).toContain('run_manifest.json');

    // Dark mode: same layout, dark colours (screenshot to look at).
    await page.emulateMedia({ colorScheme: 'dark' });
    await openTab(page, 'Train');
    await page.screenshot({ path: `${SHOTS}train-dark-1280.png`, fullPage: true });
    await openTab(page, 'Model');
    await page.screenshot({ path: `${SHOTS}model-dark-1280.png`, fullPage: true });
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe('rgb(245, 246, 248)');
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);

  it('says plainly when the browser has no WebGPU, and still manages datasets', async () => {
    const context = await app.browser.newContext({ viewport: { width: 390, height: 844 } });
    await context.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
    const page = await context.newPage();
    await page.goto(`${app.server.url}/?nosw#data`);
    const alert = page.getByRole('alert').filter({ hasText: 'WebGPU is not available' });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toMatch(/navigator\.gpu is missing.*enable-unsafe-webgpu/s);
    await page.screenshot({ path: `${SHOTS}no-webgpu-390.png`, fullPage: true });
    await importDataset(page, 'plain.jsonl', chatJsonl(6));
    await datasetButton(page, 'plain.jsonl').waitFor();
    await page.getByRole('button', { name: 'Delete dataset plain.jsonl' }).click();
    await page.getByRole('button', { name: 'Delete plain.jsonl for good' }).click();
    await datasetButton(page, 'plain.jsonl').waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { name: 'No dataset selected' }).waitFor();
    await openTab(page, 'Model');
    expect(await page.getByRole('button', { name: 'Load the demo model' }).isDisabled()).toBe(true);
    await context.close();
  }, 120_000);
});
