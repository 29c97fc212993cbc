import { afterAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, serve, type Served } from './harness.ts';

describe('kernels in a module Web Worker in Chromium', () => {
  let browser: Browser | null = null;
  let server: Served | null = null;
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('matmul and attention match float64 within 1e-4 on the browser adapter', async () => {
    server = await serve();
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${server.url}/selftest.html`);
    await page.waitForFunction(() => (window as unknown as { selftest?: unknown }).selftest !== undefined, null, { timeout: 120_000 });
    const result = (await page.evaluate(() => (window as unknown as { selftest: unknown }).selftest)) as {
      error?: string; adapter: { description: string }; results: { name: string; relError: number; ok: boolean }[];
    };
    expect(result.error).toBeUndefined();
    expect(result.results.length).toBeGreaterThanOrEqual(3);
    for (const r of result.results) expect(r.relError, r.name).toBeLessThan(1e-4);
    // SwiftShader offers subgroups (of 4): the row reductions run on both paths there.
    expect(result.results.filter((r) => /\((subgroups|workgroup memory)\)$/.test(r.name)).length).toBe(6);
    console.log(`browser adapter: ${result.adapter.description}`);
  });
});
