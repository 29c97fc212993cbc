import { describe, expect, it } from 'vitest';
import { withApp } from './app-helpers.ts';

describe('kernels in a module Web Worker in Chromium', () => {
  const app = withApp();

  it('matmul and attention match float64 within 1e-4 on the browser adapter', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.server.url}/selftest.html`);
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
