/**
 * The app's training defaults, learning-rate finder and GGUF downloads, in Chromium on the tiny
 * Llama fixture: the form's starting values are the size rule's and say why; "Find learning rate"
 * runs the range test in the Worker, plots it and applies the suggestion; a short run's merged
 * model and adapter download as GGUF (magic, version 3, architecture) with an Ollama Modelfile;
 * its chat page, unzipped onto a static server, answers in a browser that may reach nothing else,
 * and the app opens the page's zip as a model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Download, Page } from 'playwright-core';
import { serve } from './harness.ts';
import { chatJsonl, fill, importDataset, openApp, openTab, SHOTS, TINY_LLAMA, withApp } from './app-helpers.ts';
import { readGgufHeader } from './gguf-header.ts';

async function downloads(page: Page, click: () => Promise<void>, count: number): Promise<Download[]> {
  const got: Download[] = [];
  const on = (d: Download) => got.push(d);
  page.on('download', on);
  await click();
  await expect.poll(() => got.length, { timeout: 180_000 }).toBeGreaterThanOrEqual(count);
  page.off('download', on);
  return got;
}

const bytesOf = async (d: Download) => new Uint8Array(readFileSync((await d.path())!));

describe('training defaults, the learning-rate finder and GGUF downloads', () => {
  const app = withApp();
  beforeAll(() => mkdirSync(SHOTS, { recursive: true }));

  it('chooses the defaults, finds a learning rate, trains and downloads GGUF files', async () => {
    const { context, page, errors } = await openApp(app, '/?nosw#model');

    const folder = join(mkdtempSync(join(tmpdir(), 'tabtune-model-')), 'tiny-llama');
    mkdirSync(folder);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'generation_config.json']) {
      copyFileSync(join(TINY_LLAMA, f), join(folder, f));
    }
    await page.locator('input[type=file][webkitdirectory]').first().setInputFiles(folder);
    await page.getByRole('region', { name: 'Loaded model' }).getByText('from the folder “tiny-llama” on this computer').waitFor({ timeout: 60_000 });
    await importDataset(page, 'chat.jsonl', chatJsonl(40));

    // The starting values come from the size rule, one line per choice.
    await openTab(page, 'Train');
    const why = page.getByTestId('defaults-why');
    await expect.poll(() => why.textContent(), { timeout: 30_000 }).toContain('Chosen from the model and data size');
    const lines = await why.locator('li').allTextContents();
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const ruleLr = /learning rate (\S+):/.exec(lines.find((l) => l.startsWith('learning rate')) ?? '')?.[1];
    expect(Number(await page.getByLabel('Learning rate', { exact: true }).inputValue())).toBe(Number(ruleLr));
    expect(lines.some((l) => /^\d+ epochs? over about 36 training examples/.test(l))).toBe(true);

    // Find learning rate: the sweep's plot, the suggestion, applied to the form.
    await page.getByRole('button', { name: 'Find learning rate' }).click();
    const suggestion = page.getByTestId('lr-suggestion');
    await suggestion.waitFor({ timeout: 300_000 });
    await page.locator('figure[aria-label^="Loss by learning rate"] canvas').first().waitFor();
    const offered = /suggestion: (\S+)\.$/.exec((await suggestion.textContent())!.trim())?.[1];
    expect(offered).toBeDefined();
    await page.getByRole('button', { name: `Use ${offered}` }).click();
    const lr = Number(await page.getByLabel('Learning rate', { exact: true }).inputValue());
    expect(lr).toBeGreaterThan(1e-6);
    expect(lr).toBeLessThan(1);
    expect(lr).toBeCloseTo(Number(offered), 12);
    await page.getByRole('button', { name: `Using ${offered}` }).waitFor();
    expect(await why.textContent()).toContain('Set by you, kept as you set it: learning rate');
    await page.screenshot({ path: `${SHOTS}deploy-find-lr-1280.png`, fullPage: true });

    // A short run, then its GGUF downloads.
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '2');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 120_000 }).toBe('finished');
    await openTab(page, 'Export');
    await page.getByLabel('GGUF weight type', { exact: true }).selectOption('q8_0');
    const merged = await downloads(page, () => page.getByRole('button', { name: 'Download GGUF + Modelfile' }).click(), 2);
    const gguf = merged.find((d) => d.suggestedFilename().endsWith('.gguf'))!;
    expect(gguf.suggestedFilename()).toMatch(/-q8_0\.gguf$/);
    const header = readGgufHeader(await bytesOf(gguf));
    expect(header.magic).toBe('GGUF');
    expect(header.version).toBe(3);
    expect(header.metadata.get('general.architecture')).toBe('llama');
    expect(header.metadata.get('general.type')).toBe('model');
    expect(header.metadata.get('tokenizer.ggml.model')).toBe('gpt2');
    expect(typeof header.metadata.get('tokenizer.chat_template')).toBe('string');
    expect(header.tensors).toBeGreaterThan(0);
    const modelfile = new TextDecoder().decode(await bytesOf(merged.find((d) => d.suggestedFilename() === 'Modelfile')!));
    expect(modelfile).toContain(`FROM ./${gguf.suggestedFilename()}`);

    const adapter = await downloads(page, () => page.getByRole('button', { name: 'Download the LoRA GGUF' }).click(), 2);
    expect(adapter.map((d) => d.suggestedFilename()).sort()).toEqual(['Modelfile', expect.stringMatching(/-lora-q8_0\.gguf$/)]);
    const loraFile = adapter.find((d) => d.suggestedFilename().endsWith('.gguf'))!;
    const lora = readGgufHeader(await bytesOf(loraFile));
    expect([lora.magic, lora.version]).toEqual(['GGUF', 3]);
    expect(lora.metadata.get('general.architecture')).toBe('llama');
    expect(lora.metadata.get('general.type')).toBe('adapter');
    expect(lora.metadata.get('adapter.type')).toBe('lora');
    const loraModelfile = new TextDecoder().decode(await bytesOf(adapter.find((d) => d.suggestedFilename() === 'Modelfile')!));
    expect(loraModelfile).toContain(`ADAPTER ./${loraFile.suggestedFilename()}`);

    // The chat page: unzipped into a folder of a static server; the browser may reach nothing else.
    const [zip] = await downloads(page, () => page.getByRole('button', { name: 'Download the chat page (.zip)' }).click(), 1);
    const entries = unzipSync(await bytesOf(zip!));
    const site = mkdtempSync(join(tmpdir(), 'tabtune-chat-'));
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(site, name)), { recursive: true });
      writeFileSync(join(site, name), bytes);
    }
    const pageDir = Object.keys(entries).find((n) => n.endsWith('/index.html'))!.split('/')[0]!;
    expect(Object.keys(entries)).toEqual(expect.arrayContaining([`${pageDir}/page.json`, `${pageDir}/model/model.safetensors`, `${pageDir}/model/tokenizer.json`]));
    const host = await serve({}, site);
    const offline = await app.browser.newContext({ viewport: { width: 390, height: 844 } });
    const outside: string[] = [];
    await offline.route('**/*', (r) => (r.request().url().startsWith(host.url) ? r.continue() : (outside.push(r.request().url()), r.abort())));
    const chat = await offline.newPage();
    chat.on('pageerror', (e) => errors.push(e.message));
    await chat.goto(`${host.url}/${pageDir}/`);
    await expect.poll(() => chat.locator('#status').textContent(), { timeout: 120_000 }).toMatch(/^Ready: /);
    await chat.getByLabel('Message', { exact: true }).fill('say zebrafinch sun');
    await chat.getByRole('button', { name: 'Send' }).click();
    const answer = chat.locator('#log li.assistant').first();
    await answer.waitFor();
    await expect.poll(() => answer.getAttribute('aria-busy'), { timeout: 120_000 }).toBeNull();
    expect(await answer.textContent()).not.toMatch(/^(Error:|…$)/);
    expect(await chat.locator('#log li.user').textContent()).toBe('say zebrafinch sun');
    await chat.screenshot({ path: `${SHOTS}chat-page-390.png`, fullPage: true });
    expect(outside).toEqual([]);
    expect(host.requests.every((r) => r.url.startsWith(`/${pageDir}/`))).toBe(true);
    await offline.close();
    await host.close();

    // The app opens the exported page too: its merged model loads as a local folder.
    await openTab(page, 'Model');
    await page.locator('input[type=file][accept*=".zip"]').setInputFiles((await zip!.path())!);
    const bundled = pageDir.replace(/-chat$/, '');
    await page.getByRole('region', { name: 'Loaded model' }).getByText(`from the folder “${bundled}” on this computer`).waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
    await context.close();
  }, 900_000);
});
