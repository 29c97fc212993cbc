/**
 * Offline after the first visit: the service worker caches the app shell, the Worker bundle and
 * the demo model and datasets; with the server gone, the app still starts, loads the demo model
 * and imports the demo dataset.
 */
import { describe, expect, it } from 'vitest';
import { datasetButton, openTab, waitForGpu, withApp } from './app-helpers.ts';

describe('the app offline', () => {
  const app = withApp();

  it('starts, loads the demo model and imports the demo dataset with the server gone', async () => {
    const context = await app.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${app.server.url}/`);
    // The service worker installs (precaching everything in precache.json) and takes control.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    });
    const cached = await page.evaluate(async () => {
      const keys = await caches.keys();
      const cache = await caches.open(keys.find((k) => k.startsWith('tabtune-app-'))!);
      return (await cache.keys()).map((r) => new URL(r.url).pathname);
    });
    expect(cached).toEqual(expect.arrayContaining(['/', '/models/demo-base/model.safetensors', '/models/demo-base/tokenizer.json', '/datasets/demo-grounded-qa.jsonl', '/datasets/demo-grounded-qa-eval.jsonl']));
    expect(cached.some((p) => /^\/assets\/worker-.*\.js$/.test(p))).toBe(true);

    await app.server.close(); // (closing it again after the tests is harmless)
    await page.reload();
    await waitForGpu(page);
    // The demo model loads by itself at start-up (from the service worker's cache).
    await page.getByRole('button', { name: 'Demo model loaded' }).waitFor({ timeout: 120_000 });
    await openTab(page, 'Data');
    await page.getByRole('button', { name: 'Add the demo dataset' }).click();
    await datasetButton(page, 'demo-grounded-qa.jsonl').waitFor({ timeout: 30_000 });
    await page.locator('article.example .tok.trained').first().waitFor({ timeout: 60_000 });
    await context.close();
  }, 300_000);
});
