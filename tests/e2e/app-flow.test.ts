import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, serve, type Served } from './harness.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource } from '../../src/core/formats/bytes.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
/** Words that appear only in the test dataset: no request may carry them. */
const SECRET = ['zebrafinch', 'quokkamoon'];

function dataset(): Buffer {
  const lines = Array.from({ length: 40 }, (_, i) => {
    const w = `${SECRET[i % 2]} ${['sun', 'sea', 'sky', 'tree'][i % 4]}`;
    return JSON.stringify({ messages: [{ role: 'user', content: `say ${w}` }, { role: 'assistant', content: w }] });
  });
  return Buffer.from(lines.join('\n'));
}

async function tab(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
}

describe('the app in Chromium: the whole flow', () => {
  let browser: Browser;
  let server: Served;
  const outside: string[] = [];

  beforeAll(async () => {
    server = await serve({ 'tabtune-test/tiny-llama': TINY });
    browser = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('imports, trains with a live chart, survives a reload, resumes, evaluates and downloads the adapter', async () => {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) outside.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const app = `${server.url}/?hub=${encodeURIComponent(server.url)}&nosw`;
    await page.goto(app);
    await page.getByText('demo-base', { exact: false }).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${SHOTS}model-1280.png`, fullPage: true });

    // Model from the "Hub" (a local server with the Hub's URL shape).
    await page.getByLabel('Repository').fill('tabtune-test/tiny-llama');
    await page.getByRole('button', { name: 'Download and load' }).click();
    await page.locator('.facts dd', { hasText: 'tabtune-test/tiny-llama@main' }).waitFor({ timeout: 60_000 });

    // Data
    await tab(page, 'Data');
    await page.locator('input[type=file]:not([webkitdirectory])').setInputFiles({ name: 'secret-chat.jsonl', mimeType: 'application/jsonl', buffer: dataset() });
    await page.getByRole('button', { name: /secret-chat\.jsonl/ }).waitFor();
    await page.locator('.tok.trained').first().waitFor({ timeout: 30_000 });
    const trained = await page.locator('article.example').first().locator('.tok.trained').allTextContents();
    expect(trained.join('')).toMatch(/^(zebrafinch|quokkamoon) \w+<\|im_end\|>$/);
    await page.screenshot({ path: `${SHOTS}data-1280.png`, fullPage: true });

    // Train: a few steps, checkpoints every 2, and the chart updates.
    await tab(page, 'Train');
    await page.getByLabel('Steps', { exact: true }).fill('400');
    await page.getByLabel('Batch', { exact: true }).fill('2');
    await page.getByLabel('Checkpoint every (steps)', { exact: true }).fill('2');
    await page.getByLabel('Validate every (steps)', { exact: true }).fill('0');
    await page.getByLabel('Learning rate', { exact: true }).fill('0.02');
    await page.getByRole('button', { name: 'Start training' }).click();
    const step = page.getByTestId('step');
    await step.waitFor({ timeout: 60_000 });
    await expect.poll(async () => Number(await step.textContent()), { timeout: 60_000 }).toBeGreaterThanOrEqual(5);
    const paths = await page.locator('.chart canvas').count();
    expect(paths).toBeGreaterThanOrEqual(4);
    const before = Number(await step.textContent());
    await expect.poll(async () => Number(await step.textContent()), { timeout: 30_000 }).toBeGreaterThan(before);
    await page.screenshot({ path: `${SHOTS}train-1280.png`, fullPage: true });

    // Reload mid-run: the dataset and the run are still there, and the run continues from its checkpoint.
    await page.reload();
    await page.getByText('demo-base', { exact: false }).first().waitFor({ timeout: 60_000 });
    await tab(page, 'Data');
    await page.getByRole('button', { name: /secret-chat\.jsonl/ }).waitFor();
    await tab(page, 'Runs');
    await page.locator('table.runs tbody tr', { hasText: 'secret-chat.jsonl' }).waitFor();
    await expect.poll(() => page.locator('table.runs .badge').first().textContent()).toBe('interrupted');
    await tab(page, 'Train');
    await page.getByRole('button', { name: 'Continue from checkpoint' }).click();
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 90_000 }).toBeGreaterThan(before + 2);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('button', { name: 'Start training' }).waitFor({ timeout: 60_000 });

    // Evaluate before and after.
    await tab(page, 'Evaluate & Playground');
    await page.getByRole('combobox', { name: /^Split/ }).selectOption('all');
    await page.getByRole('button', { name: 'Evaluate before and after' }).click();
    const tuned = page.getByTestId('ppl-tuned');
    await expect.poll(async () => Number(await tuned.textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
    const base = Number(await page.getByTestId('ppl-base').textContent());
    expect(Number(await tuned.textContent())).toBeLessThan(base);
    await page.getByLabel('Message', { exact: true }).fill('say zebrafinch sun');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.msg.assistant .conf').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${SHOTS}evaluate-1280.png`, fullPage: true });

    // Export: the adapter zip holds PEFT's config fields and key names.
    await tab(page, 'Export');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the PEFT adapter (.zip)' }).click()]);
    const zip = unzipSync(new Uint8Array(readFileSync(await download.path())));
    const names = Object.keys(zip);
    const cfgName = names.find((n) => n.endsWith('/adapter_config.json'))!;
    const cfg = JSON.parse(new TextDecoder().decode(zip[cfgName]));
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 16, lora_alpha: 32, lora_dropout: 0.05 });
    expect([...cfg.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const st = await SafetensorsFile.open(bytesSource('adapter', zip[names.find((n) => n.endsWith('/adapter_model.safetensors'))!]!));
    expect(st.names()).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
    expect(st.names().length).toBe(2 * 7 * 2);
    await page.screenshot({ path: `${SHOTS}export-1280.png`, fullPage: true });
    await tab(page, 'Runs');
    await page.locator('table.runs input[type=checkbox]').first().check();
    await page.screenshot({ path: `${SHOTS}runs-1280.png`, fullPage: true });

    // Phone width: every view at 390 px.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, label] of [['model', 'Model'], ['data', 'Data'], ['train', 'Train'], ['evaluate', 'Evaluate & Playground'], ['export', 'Export'], ['runs', 'Runs']]) {
      await tab(page, label!);
      await page.screenshot({ path: `${SHOTS}${name}-390.png`, fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} overflows at 390 px`).toBeLessThanOrEqual(1);
    }

    // Privacy: no request left the machine, and none carried the dataset's words.
    expect(outside, outside.slice(0, 5).join(' ')).toEqual([]);
    for (const r of server.requests) for (const s of SECRET) expect(`${r.url} ${r.body}`, r.url).not.toContain(s);
    expect(errors).toEqual([]);
    await context.close();
  }, 600_000);
});
