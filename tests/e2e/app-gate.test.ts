/**
 * The learned adapter gate in Chromium: two imported PEFT adapters (the fixture's, and one of rank 2
 * on q/v), a DoRA adapter refused with train-gate's one line, the memory estimate, a gate trained for
 * a few steps with its loss per step, saved and listed; the playground answers with it and shows the
 * routing per adapter; the download holds train-gate's layout.
 * Build first: npx vite build
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { writeSafetensors } from '../../src/core/formats/safetensors.ts';
import {
  chatJsonl, clipped, dismissNotices, importDataset, openTab, openWithHubModel, overflow, TINY_LLAMA, unlabelled, withHubApp,
} from './app-helpers.ts';

/** A PEFT folder of rank 2 on q_proj and v_proj (seeded values); with `dora`, PEFT's magnitude vectors too. */
function qvAdapter(root: string, name: string, dora: boolean): string {
  let x = 777;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.6);
  const tensors = [0, 1].flatMap((l) => ([['q_proj', 64], ['v_proj', 32]] as const).flatMap(([m, out]) => {
    const stem = `base_model.model.model.layers.${l}.self_attn.${m}`;
    return [
      { name: `${stem}.lora_A.weight`, dtype: 'F32' as const, shape: [2, 64], data: rand(2 * 64) },
      { name: `${stem}.lora_B.weight`, dtype: 'F32' as const, shape: [out, 2], data: rand(out * 2) },
      ...(dora ? [{ name: `${stem}.lora_magnitude_vector`, dtype: 'F32' as const, shape: [out], data: rand(out).map((v) => 1 + v) }] : []),
    ];
  }));
  const config = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], use_dora: dora };
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'adapter_model.safetensors'), writeSafetensors(tensors));
  return dir;
}

async function importAdapter(page: Page, dir: string, name: string): Promise<void> {
  await openTab(page, 'Export');
  await page.locator('input[type=file][webkitdirectory]').first().setInputFiles(dir);
  await page.getByText(`Imported adapter "${name}"`).waitFor({ timeout: 60_000 });
}

describe('the app in Chromium: the learned adapter gate', () => {
  const app = withHubApp();

  it('refuses DoRA, estimates memory, trains a gate with its loss per step, answers with its routing, downloads it', async () => {
    const { context, page, errors } = await openWithHubModel(app);
    await importDataset(page, 'gate-chat.jsonl', chatJsonl(16));
    const root = mkdtempSync(join(tmpdir(), 'tabtune-gate-e2e-'));
    await importAdapter(page, join(TINY_LLAMA, 'adapter'), 'adapter');
    await importAdapter(page, qvAdapter(root, 'qv', false), 'qv');
    await importAdapter(page, qvAdapter(root, 'dora', true), 'dora');

    await openTab(page, 'Evaluate');
    const card = page.getByRole('region', { name: 'Learned gate', exact: true });
    await card.getByText('A small per-token router that weights your adapters; adapters stay frozen.').waitFor();
    await card.getByLabel('adapter', { exact: true }).check();
    await card.getByLabel('dora', { exact: true }).check();
    await expect.poll(() => card.getByTestId('gate-problem').textContent(), { timeout: 30_000 })
      .toBe('adapter "dora": is a DoRA adapter; the adapter gate mixes plain LoRA adapters only');
    expect(await card.getByRole('button', { name: 'Train gate' }).isDisabled()).toBe(true);
    await card.getByLabel('dora', { exact: true }).uncheck();
    await card.getByLabel('qv', { exact: true }).check();
    await expect.poll(() => card.getByTestId('gate-memory').textContent(), { timeout: 30_000 }).toMatch(/^\s*Training memory ≈ [\d.]+ (KiB|MiB)/);
    expect(await card.getByTestId('gate-memory').textContent()).toMatch(/gate 260 parameters/);
    await card.getByLabel('Steps', { exact: true }).fill('4');
    await card.getByLabel('Rows per step', { exact: true }).fill('2');
    await card.getByLabel('Name', { exact: true }).fill('mix');
    await card.getByRole('button', { name: 'Train gate' }).click();
    await card.getByTestId('saved-gate').waitFor({ timeout: 90_000 });
    expect(await card.getByTestId('gate-progress').textContent()).toMatch(/^step 4\/4 · loss \d+\.\d{4}$/);
    expect(await card.getByTestId('saved-gate').textContent()).toMatch(/mix · adapter \+ qv · 4 steps on gate-chat\.jsonl/);

    // The playground answers with the saved gate and shows how it weighted the two adapters.
    const playground = page.getByRole('region', { name: 'Playground', exact: true });
    await playground.getByLabel('Max new tokens', { exact: true }).fill('5');
    await playground.getByText('Learned gate', { exact: true }).click();
    const panel = playground.getByRole('region', { name: 'Learned gate' });
    await panel.getByLabel('Prompt', { exact: true }).fill('say zebrafinch sun');
    await panel.getByRole('button', { name: 'Answer with the gate' }).click();
    const routing = panel.getByTestId('gate-routing');
    await routing.waitFor({ timeout: 60_000 });
    const m = /^\s*Routing: adapter (0\.\d\d|1\.00) · qv (0\.\d\d|1\.00)\s*$/.exec((await routing.textContent()) ?? '');
    expect(m).not.toBeNull();
    expect(Math.abs(Number(m![1]) + Number(m![2]) - 1)).toBeLessThanOrEqual(0.011);
    expect((await panel.getByTestId('gate-answer').textContent())?.length).toBeGreaterThan(0);

    const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('mix-gate.zip');
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    expect(Object.keys(zip).sort()).toEqual([
      'mix-gate/adapter/adapter_config.json', 'mix-gate/adapter/adapter_model.safetensors', 'mix-gate/gate.safetensors', 'mix-gate/gate_config.json',
      'mix-gate/qv/adapter_config.json', 'mix-gate/qv/adapter_model.safetensors',
    ]);
    const config = JSON.parse(new TextDecoder().decode(zip['mix-gate/gate_config.json']));
    expect(config).toMatchObject({ gate_type: 'token_softmax', num_adapters: 2, adapters: [{ name: 'adapter', path: 'adapter', r: 4 }, { name: 'qv', path: 'qv', r: 2 }] });
    // The card and the open panel, filled: no sideways scrolling, no cut-off text, every control labelled.
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      await dismissNotices(page);
      expect(await overflow(page), `Evaluate overflows at ${width} px`).toBeLessThanOrEqual(0);
      expect(await clipped(page), `Evaluate at ${width} px`).toEqual([]);
      expect(await unlabelled(page)).toEqual([]);
    }
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 115_000);
});
