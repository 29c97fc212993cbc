/** Shared steps of the app's browser tests (tests/e2e/app-*.test.ts). */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium, serve, type Served } from './harness.ts';

export const TINY_LLAMA = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
export const HUB_REPO = 'tabtune-test/tiny-llama';
export const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
export const VIEWS = ['Model', 'Data', 'Train', 'Evaluate', 'Export', 'Runs', 'Classroom'] as const;

/** Words that appear only in the test dataset: no request may carry them. */
export const SECRETS = ['zebrafinch', 'quokkamoon'] as const;

/** A small chat JSONL whose answers are easy to learn (and full of the secret words). */
export function chatJsonl(rows = 40): Buffer {
  const lines = Array.from({ length: rows }, (_, i) => {
    const w = `${SECRETS[i % 2]} ${['sun', 'sea', 'sky', 'tree'][i % 4]}`;
    return JSON.stringify({ messages: [{ role: 'user', content: `say ${w}` }, { role: 'assistant', content: w }] });
  });
  return Buffer.from(lines.join('\n') + '\n');
}

export async function openTab(page: Page, name: (typeof VIEWS)[number]): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
  await page.locator(`[role=tabpanel][aria-labelledby="tab-${name.toLowerCase()}"]`).waitFor();
}

/** Waits until the app has a GPU adapter (or fails with the app's message). */
export async function waitForGpu(page: Page): Promise<void> {
  const badge = page.locator('header .status .badge').first();
  await page.waitForFunction(() => /^(GPU: |No WebGPU)/.test(document.querySelector('header .status .badge')?.textContent ?? ''), null, { timeout: 60_000 });
  const text = await badge.textContent();
  if (text?.startsWith('No WebGPU')) throw new Error(`no WebGPU in the test browser: ${await page.locator('.alert.error.gpu').textContent()}`);
}

/** Loads the fixture repo from the local "Hub" (the page was opened with ?hub=<server>). */
export async function loadHubModel(page: Page): Promise<void> {
  await openTab(page, 'Model');
  await page.getByLabel('Repository', { exact: true }).fill(HUB_REPO);
  await page.getByRole('button', { name: 'Download and load' }).click();
  await page.getByRole('region', { name: 'Loaded model' }).getByText(`${HUB_REPO}@main`, { exact: true }).waitFor({ timeout: 90_000 });
}

/** The built app on a local server (with `hub`'s model folders under the Hub's URL shape) and Chromium, for one describe block. */
export interface ServedApp {
  browser: Browser;
  server: Served;
}

export function withApp(hub: Record<string, string> = {}): ServedApp {
  const app = {} as ServedApp;
  beforeAll(async () => {
    app.server = await serve(hub);
    app.browser = await launchChromium();
  });
  afterAll(async () => {
    await app.browser?.close();
    await app.server?.close();
  });
  return app;
}

/** The app and the fixture repo on a local "Hub", with Chromium, for the tests of one describe block. */
export function withHubApp(): ServedApp {
  return withApp({ [HUB_REPO]: TINY_LLAMA });
}

export interface AppPage {
  context: BrowserContext;
  page: Page;
  /** The page's uncaught errors (and its console errors, with `consoleErrors`). */
  errors: string[];
}

export interface OpenOptions {
  height?: number;
  /** Also collect the page's console errors (CSP violations, failed loads). */
  consoleErrors?: boolean;
  /** Runs on the new context before its page opens (init scripts, routes, request listeners). */
  prepare?: (context: BrowserContext) => Promise<unknown> | void;
}

/** A new 1280 px wide page at `path` (e.g. "/?nosw#model") of the served app, once the app has a GPU adapter. */
export async function openApp(app: ServedApp, path: string, options: OpenOptions = {}): Promise<AppPage> {
  const context = await app.browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: options.height ?? 800 } });
  await options.prepare?.(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (options.consoleErrors) page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${app.server.url}${path}`);
  await waitForGpu(page);
  return { context, page, errors };
}

/** A new page with the fixture model loaded from the local Hub; `errors` collects the page's uncaught errors. */
export async function openWithHubModel(app: ServedApp, options: OpenOptions = {}): Promise<AppPage> {
  const opened = await openApp(app, `/?hub=${encodeURIComponent(app.server.url)}#model`, options);
  await loadHubModel(opened.page);
  return opened;
}

export async function importDataset(page: Page, name: string, bytes: Buffer): Promise<void> {
  await openTab(page, 'Data');
  await page.locator('input[type=file][accept*=".jsonl"]').setInputFiles({ name, mimeType: 'application/jsonl', buffer: bytes });
  await datasetButton(page, name).waitFor({ timeout: 30_000 });
}

/** A section of the selected dataset in the Data view (Preview, Statistics, Problems, Prepare, Versions). */
export async function dataSection(page: Page, name: string): Promise<void> {
  await page.getByRole('tablist', { name: 'Dataset sections' }).getByRole('tab', { name: new RegExp(`^${name}`) }).click();
}

/** The dataset's entry in the Data view's list. */
export function datasetButton(page: Page, name: string) {
  return page.getByRole('list', { name: 'Datasets' }).getByRole('button', { name: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) });
}

export async function fill(page: Page, label: string, value: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).fill(value);
}

export async function stepCount(page: Page): Promise<number> {
  const t = await page.getByTestId('step').textContent({ timeout: 1000 }).catch(() => null);
  return t === null ? -1 : Number(t);
}

/** Closes the messages at the screen's edge (before a screenshot); some fade by themselves meanwhile. */
export async function dismissNotices(page: Page): Promise<void> {
  const buttons = page.getByRole('button', { name: 'Dismiss message' });
  for (let i = 0; i < 10 && (await buttons.count()) > 0; i++) await buttons.first().click({ timeout: 1000 }).catch(() => undefined);
}

/** Form controls and buttons without an accessible name (label, aria-label, aria-labelledby or text). */
export function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('input, select, textarea, button, [role=tab]')) {
      const named =
        (el as HTMLInputElement).labels?.length ||
        el.getAttribute('aria-label')?.trim() ||
        (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).some((id) => document.getElementById(id)?.textContent?.trim()) ||
        (el.tagName === 'BUTTON' || el.getAttribute('role') === 'tab' ? el.textContent?.trim() : '');
      if (!named) out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}`);
    }
    return out;
  });
}

/** Document wider than the viewport (horizontal scrolling), in px. */
export function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Elements whose content spills out of them sideways (cut-off text), as short descriptions. */
export function clipped(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('main *')) {
      const s = getComputedStyle(el);
      if (s.overflowX !== 'visible' || el.closest('.table-wrap, .tablist, .uplot, select, pre, textarea, .chat, input')) continue;
      if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && el.children.length === 0) out.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.textContent?.slice(0, 40)}`);
    }
    return out;
  });
}
