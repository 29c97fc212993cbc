/**
 * Privacy: a full session (Hub-shaped model download, dataset import, preview, options, preparation,
 * training, evaluation, chat, side-by-side answers, exports) is recorded request by request. No
 * request may go anywhere but the local server, and none may carry the dataset's text, in its URL
 * or its body. The app is built fresh for the test run.
 */
import { describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { chatJsonl, dataSection, fill, HUB_REPO, importDataset, openTab, openWithHubModel, SECRETS, stepCount, waitForGpu, withHubApp } from './app-helpers.ts';

describe('the app keeps data in the tab', () => {
  const app = withHubApp();

  it('sends no dataset text anywhere and talks to no other host', async () => {
    const seen: { url: string; body: string }[] = [];
    const outside: string[] = [];
    const local = (url: string) => url.startsWith(`${app.server.url}/`) || url.startsWith('blob:') || url.startsWith('data:');
    // Every request the browser makes (pages and their Workers): anything not local is recorded and refused.
    const recordAndRefuse = async (context: BrowserContext) => {
      await context.route('**/*', async (route) => {
        const r = route.request();
        seen.push({ url: r.url(), body: r.postData() ?? '' });
        if (!local(r.url())) {
          outside.push(r.url());
          await route.abort('blockedbyclient');
        } else {
          await route.fallback();
        }
      });
      context.on('request', (r) => {
        if (!local(r.url())) outside.push(r.url());
      });
    };
    const { context, page } = await openWithHubModel(app, { prepare: recordAndRefuse });

    await importDataset(page, 'private.jsonl', chatJsonl(24));
    await page.locator('article.example .tok.trained').first().waitFor({ timeout: 30_000 });
    await fill(page, 'Validation fraction', '0.25');
    await page.getByRole('button', { name: 'Apply options' }).click();
    await dataSection(page, 'Prepare');
    await page.getByRole('button', { name: 'Prepare a new version' }).click();
    await page.getByRole('region', { name: 'Preparation report' }).waitFor({ timeout: 30_000 });

    await openTab(page, 'Train');
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Steps', '3');
    await fill(page, 'Batch size', '2');
    await fill(page, 'Validate every (steps)', '2');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 90_000 }).toBe('finished');
    expect(await stepCount(page)).toBe(3);

    await openTab(page, 'Evaluate');
    await page.getByLabel('Also generate answers (exact match, contains, confidence; slower)').check();
    await fill(page, 'Max examples', '4');
    await page.getByRole('button', { name: 'Evaluate before and after' }).click();
    await expect.poll(async () => Number(await page.getByTestId('ppl-tuned').textContent()), { timeout: 120_000 }).toBeGreaterThan(0);
    await page.getByLabel('Message', { exact: true }).fill(`say ${SECRETS[0]} sky`);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.msg.assistant .conf').first().waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Send' }).waitFor({ timeout: 60_000 });
    await page.getByLabel('Prompts, one per line').fill(`say ${SECRETS[1]} sea`);
    await page.getByRole('button', { name: 'Compare answers' }).click();
    await page.locator('.pair .side.tuned .conf .t').first().waitFor({ timeout: 60_000 });

    await openTab(page, 'Export');
    for (const name of ['Download the PEFT adapter (.zip)', 'Download the run manifest and TRL config']) {
      await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name }).click()]);
    }
    await page.reload();
    await waitForGpu(page);
    await openTab(page, 'Runs');
    await page.locator('table.runs tbody tr').first().waitFor();

    // What went over the wire: the app's own files and the model the user asked for, nothing else.
    expect(outside, outside.slice(0, 5).join(' ')).toEqual([]);
    const wire = [...seen, ...app.server.requests.map((r) => ({ url: r.url, body: r.body }))];
    expect(app.server.requests.some((r) => r.url.includes(`/${HUB_REPO}/resolve/main/model.safetensors`))).toBe(true);
    // The browser-side record sees the Worker's requests too (the Hub download happens there).
    expect(seen.some((r) => r.url.includes(`/${HUB_REPO}/resolve/main/model.safetensors`))).toBe(true);
    console.log(`${seen.length} requests seen in the browser, ${app.server.requests.length} at the server`);
    for (const r of wire) {
      const text = `${r.url} ${safeDecode(r.url)} ${r.body}`;
      for (const s of [...SECRETS, 'private.jsonl']) expect(text, r.url).not.toContain(s);
    }
    // Only GETs (and HEAD-like range probes): nothing is uploaded.
    expect(app.server.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`)).toEqual([]);
    await context.close();
  }, 600_000);
});

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
