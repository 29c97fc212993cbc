/**
 * The whole app in Chromium (WebGPU on SwiftShader): a model from a Hub-shaped local server, a
 * dataset import, training with live charts, a reload mid-run and "continue from checkpoint",
 * evaluation before/after, a streamed chat, and the PEFT adapter download opened and checked.
 * Screenshots of every view at 1280×800 and 390 px go to tests/e2e/screenshots/.
 * The app is built fresh for the test run (tests/e2e/build-app.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource } from '../../src/core/formats/bytes.ts';
import {
  chatJsonl, clipped, dataSection, datasetButton, dismissNotices, unlabelled, fill, HUB_REPO, importDataset, openTab, openWithHubModel, overflow, SHOTS, stepCount, VIEWS,
  waitForGpu, withHubApp,
} from './app-helpers.ts';

/** A data URL of the loss chart's canvas: it changes when the chart draws new points. */
const lossCanvas = (page: Page) => page.locator('figure[aria-label^="Loss by step"] canvas').first().evaluate((c) => (c as HTMLCanvasElement).toDataURL());

describe('the app in Chromium: the whole flow', () => {
  const app = withHubApp();
  beforeAll(() => mkdirSync(SHOTS, { recursive: true }));

  it('loads a Hub model, imports, trains with live charts, reloads, continues, evaluates, chats and downloads the adapter', async () => {
    // In every page load: report CSP violations.
    const reportCsp = () => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    };
    const { context, page, errors } = await openWithHubModel(app, { consoleErrors: true, prepare: (c) => c.addInitScript(reportCsp) });
    // Leaving mid-run asks first (beforeunload); the test answers "leave".
    let asked = 0;
    page.on('dialog', (d) => {
      if (d.type() === 'beforeunload') asked++;
      void d.accept();
    });

    // Model: the fixture repo from the local "Hub"; its facts and the memory estimate show.
    const summary = page.getByRole('region', { name: 'Loaded model' });
    await expect.poll(() => summary.textContent()).toContain('llama');
    expect(await summary.textContent()).toMatch(/Layers\s*2/i);
    await page.getByTestId('memory-total').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('memory-total').textContent()).toMatch(/(KiB|MiB|GiB)$/);
    await expect.poll(() => page.locator('ul.cached').textContent(), { timeout: 10_000 }).toContain(HUB_REPO);

    // Data: import, then the preview shows exactly the assistant answer as trained tokens.
    await importDataset(page, 'secret-chat.jsonl', chatJsonl());
    await page.locator('article.example .tok.trained').first().waitFor({ timeout: 30_000 });
    const trained = await page.locator('article.example').first().locator('.tok.trained').allTextContents();
    expect(trained.join('')).toMatch(/^(zebrafinch|quokkamoon) (sun|sea|sky|tree)<\|im_end\|>\n?$/);
    await dataSection(page, 'Statistics');
    await page.getByRole('img', { name: /Example length histogram/ }).waitFor();
    await dataSection(page, 'Preview');

    // Train: steps, small batches, checkpoints every 2 steps; the charts update while it runs.
    await openTab(page, 'Train');
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '400');
    await fill(page, 'Batch size', '2');
    await fill(page, 'Checkpoint every (steps)', '2');
    await fill(page, 'Validate every (steps)', '5');
    await fill(page, 'Learning rate', '0.02');
    await fill(page, 'Warmup steps', '0');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByTestId('step').waitFor({ timeout: 60_000 });
    await expect.poll(() => stepCount(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
    const drawn = await lossCanvas(page);
    const before = await stepCount(page);
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThan(before + 1);
    await expect.poll(() => lossCanvas(page), { timeout: 10_000 }).not.toBe(drawn);
    await expect.poll(() => page.locator('.log li').count()).toBeGreaterThan(0);

    // Pause holds the step count; resume goes on.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 30_000 }).toBe('paused');
    await page.waitForTimeout(1000); // steps already on the GPU finish
    const paused = await stepCount(page);
    await page.waitForTimeout(1500);
    expect(await stepCount(page)).toBe(paused);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThan(paused + 1);
    const reached = await stepCount(page);

    // Reload mid-run: the dataset and the run are still there, and the run continues from its checkpoint.
    await page.reload();
    await waitForGpu(page);
    expect(asked).toBe(1);
    await openTab(page, 'Data');
    await datasetButton(page, 'secret-chat.jsonl').waitFor();
    await openTab(page, 'Runs');
    const row = page.locator('table.runs tbody tr', { hasText: 'secret-chat.jsonl' });
    await row.waitFor();
    await expect.poll(() => row.locator('.badge').textContent()).toBe('interrupted');
    await openTab(page, 'Train');
    await page.getByRole('button', { name: 'Continue from checkpoint' }).first().click();
    // The run's model loads again (from the browser cache), then training goes on past where it was.
    await expect.poll(() => stepCount(page), { timeout: 120_000 }).toBeGreaterThan(reached);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('button', { name: 'Start training' }).waitFor({ timeout: 60_000 });

    // A second version: a short run that starts from the first run's adapter.
    await page.getByLabel('Start from adapter', { exact: true }).selectOption({ index: 1 });
    await fill(page, 'Steps', '4');
    await fill(page, 'Run name', 'second version');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 90_000 }).toBe('finished');

    // Evaluate before and after on every example: the fine-tuned perplexity is lower.
    await openTab(page, 'Evaluate');
    await page.getByLabel('Split', { exact: true }).selectOption('all');
    await fill(page, 'Max examples', '16');
    await page.getByRole('button', { name: 'Evaluate before and after' }).click();
    const figure = async (testid: string) => Number(((await page.getByTestId(testid).textContent()) ?? '').replace(/,/g, ''));
    await expect.poll(() => figure('ppl-tuned'), { timeout: 120_000 }).toBeGreaterThan(0);
    expect(await figure('ppl-tuned')).toBeLessThan(await figure('ppl-base'));
    // The change reads as a ratio or a percentage, never in exponent notation.
    expect(await page.getByTestId('ppl-change').textContent()).toMatch(/^(\d[\d,.]*× lower|\d+% lower)$/);
    expect(await page.getByTestId('eval-scored').textContent()).toContain('secret-chat.jsonl');
    await page.getByRole('heading', { name: 'Hardest examples' }).waitFor();
    const hardest = (await page.locator('ol.hard > li .num strong').allTextContents()).map(Number);
    expect(hardest.length).toBeGreaterThan(0);
    for (const loss of hardest) expect(loss).toBeGreaterThan(0);

    // Playground: chat with the adapter; tokens stream in with confidence shading and tooltips.
    await page.getByLabel('Adapter', { exact: true }).selectOption({ index: 1 });
    await page.getByLabel('Message', { exact: true }).fill('say zebrafinch sun');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.locator('.msg.assistant .conf .t').first();
    await answer.waitFor({ timeout: 60_000 });
    expect(await answer.getAttribute('title')).toMatch(/p = [\d.]+% · log p = -?[\d.]+ · entropy [\d.]+ nats/);
    await page.getByRole('button', { name: 'Send' }).waitFor({ timeout: 60_000 });

    // Export: the adapter zip holds PEFT's config fields and key names.
    await openTab(page, 'Export');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the PEFT adapter (.zip)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    const names = Object.keys(zip);
    const cfg = JSON.parse(new TextDecoder().decode(zip[names.find((n) => n.endsWith('/adapter_config.json'))!]));
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 16, lora_alpha: 32, lora_dropout: 0.05 });
    expect([...cfg.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const st = await SafetensorsFile.open(bytesSource('adapter', zip[names.find((n) => n.endsWith('/adapter_model.safetensors'))!]!));
    expect(st.names()).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
    expect(st.names()).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(st.names().length).toBe(2 * 7 * 2);
    expect(names.some((n) => n.endsWith('/README.md'))).toBe(true);

    // Runs: the second run points back to the first; both curves on one chart.
    await openTab(page, 'Runs');
    await page.locator('table.runs tbody tr', { hasText: 'second version' }).getByText('↳ from secret-chat.jsonl').waitFor();
    for (const box of await page.locator('table.runs input[type=checkbox]').all()) await box.check();
    await page.getByRole('img', { name: /^Loss by step for second version and / }).waitFor();
    expect(await page.locator('.uplot .u-legend .u-series').count()).toBe(5);

    // Every view at 1280×800 and at 390 px: no sideways scrolling, no cut-off text.
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      for (const view of VIEWS) {
        await openTab(page, view);
        await dismissNotices(page);
        await page.waitForTimeout(300);
        await page.screenshot({ path: `${SHOTS}${view.toLowerCase()}-${width}.png`, fullPage: true });
        expect(await overflow(page), `${view} overflows at ${width} px`).toBeLessThanOrEqual(0);
        expect(await clipped(page), `${view} at ${width} px`).toEqual([]);
        expect(await unlabelled(page), `unlabelled controls in ${view}`).toEqual([]);
      }
    }
    expect(errors).toEqual([]);
    await context.close();
  }, 600_000);
});
