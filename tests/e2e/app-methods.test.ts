/**
 * The app's method choices and the playground's mixture of agents in Chromium: every method shows
 * its explanation and memory; choosing DoRA trains a PEFT DoRA adapter (use_dora, magnitudes);
 * two runs' adapters propose and one aggregates, side by side.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource } from '../../src/core/formats/bytes.ts';
import { chatJsonl, fill, importDataset, openTab, openWithHubModel, withHubApp } from './app-helpers.ts';

async function train(page: Page, method: string, name: string): Promise<void> {
  await openTab(page, 'Train');
  await page.getByRole('radiogroup', { name: 'Fine-tuning method' }).locator(`input[value="${method}"]`).check();
  await page.getByLabel('Train for', { exact: true }).selectOption('steps');
  await fill(page, 'Steps', '3');
  await fill(page, 'Batch size', '2');
  await fill(page, 'Run name', name);
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 120_000 }).toBe('finished');
}

describe('the app in Chromium: methods and mixture of agents', () => {
  const app = withHubApp();

  it('offers each method with its memory, trains DoRA into a PEFT DoRA adapter, and shows MoA proposals beside the aggregate', async () => {
    const { context, page, errors } = await openWithHubModel(app);
    await importDataset(page, 'methods-chat.jsonl', chatJsonl(16));

    // Every method: a one-line explanation and what it adds in memory for this model.
    await openTab(page, 'Train');
    const group = page.getByRole('radiogroup', { name: 'Fine-tuning method' });
    for (const [id, label] of [['lora', 'LoRA'], ['rslora', 'rsLoRA'], ['dora', 'DoRA'], ['loraplus', 'LoRA+'], ['pissa', 'PiSSA'],
      ['freeze', 'Freeze'], ['half', 'Half fine-tuning'], ['full', 'Full fine-tuning']]) {
      await group.getByText(label, { exact: true }).waitFor();
      expect(await page.getByTestId(`method-memory-${id}`).textContent()).toMatch(/trained · \+[\d.]+ (B|KiB|MiB|GiB)/);
    }
    // Full fine-tuning adds more than freezing all but the last layer; DoRA adds its magnitudes to LoRA.
    const kib = async (id: string) => {
      const m = /\+([\d.]+) (B|KiB|MiB|GiB)/.exec((await page.getByTestId(`method-memory-${id}`).textContent()) ?? '')!;
      return Number(m[1]) * { B: 1 / 1024, KiB: 1, MiB: 1024, GiB: 1024 ** 2 }[m[2] as 'B']!;
    };
    expect(await kib('full')).toBeGreaterThan(await kib('freeze'));
    expect(await kib('dora')).toBeGreaterThan(await kib('lora'));

    await train(page, 'dora', 'dora run');
    await openTab(page, 'Export');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the PEFT adapter (.zip)' }).click()]);
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    const names = Object.keys(zip);
    const cfg = JSON.parse(new TextDecoder().decode(zip[names.find((n) => n.endsWith('/adapter_config.json'))!]));
    expect(cfg).toMatchObject({ peft_type: 'LORA', use_dora: true });
    const st = await SafetensorsFile.open(bytesSource('adapter', zip[names.find((n) => n.endsWith('/adapter_model.safetensors'))!]!));
    expect(st.names()).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector');

    await train(page, 'lora', 'lora run');

    // Mixture of agents: both runs propose, the DoRA run aggregates; proposals and aggregate side by side.
    await openTab(page, 'Evaluate');
    const playground = page.getByRole('region', { name: 'Playground', exact: true });
    await playground.getByLabel('Max new tokens', { exact: true }).fill('6');
    await playground.getByText('Mixture of agents', { exact: true }).click();
    const moa = playground.getByRole('region', { name: 'Mixture of agents' });
    await moa.getByLabel('dora run').check();
    await moa.getByLabel('lora run').check();
    await moa.getByLabel('Base model', { exact: true }).check();
    await moa.getByLabel('Aggregator', { exact: true }).selectOption({ label: (await moa.locator('option', { hasText: 'dora run' }).textContent())! });
    await moa.getByLabel('Question', { exact: true }).fill('say zebrafinch sun');
    // The tiny model has 128 positions: a short aggregator prompt keeps the proposals inside them.
    await moa.getByLabel('Aggregator prompt', { exact: true }).fill('{proposals}\n{question}');
    await moa.getByRole('button', { name: 'Run mixture' }).click();
    await moa.getByRole('button', { name: 'Run mixture' }).waitFor({ timeout: 120_000 });
    const proposals = moa.getByTestId('moa-proposal');
    expect(await proposals.count()).toBe(3);
    expect((await proposals.locator('h4').allTextContents()).sort()).toEqual(['Base model', 'dora run', 'lora run']);
    expect(await moa.getByTestId('moa-aggregate').locator('h4').textContent()).toBe('Aggregate · dora run');
    expect(await moa.getByRole('alert').allTextContents()).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 600_000);
});
