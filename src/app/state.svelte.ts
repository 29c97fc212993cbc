import type { DatasetSummary, GpuInfo, ModelSummary, RunEvent, RunSummary } from '../worker/api.ts';
import { api } from './client.ts';

export interface LogLine {
  readonly time: number;
  readonly level: 'info' | 'warning' | 'error';
  readonly text: string;
}

/** App-wide state (Svelte 5 runes): what the Worker told us, kept in one place. */
export const app = $state({
  gpu: null as GpuInfo | null,
  gpuError: null as string | null,
  model: null as ModelSummary | null,
  modelStatus: '' as string,
  datasets: [] as DatasetSummary[],
  selectedDataset: null as string | null,
  runs: [] as RunSummary[],
  activeRunId: null as string | null,
  runState: '' as string,
  /** Events of the run shown in the Train view (live or reopened). */
  events: [] as RunEvent[],
  log: [] as LogLine[],
  error: null as string | null,
});

export function log(level: LogLine['level'], text: string): void {
  app.log = [...app.log.slice(-199), { time: Date.now(), level, text }];
}

export async function refreshDatasets(): Promise<void> {
  app.datasets = await api.listDatasets();
  if (!app.selectedDataset || !app.datasets.some((d) => d.id === app.selectedDataset)) app.selectedDataset = app.datasets[0]?.id ?? null;
}

export async function refreshRuns(): Promise<void> {
  app.runs = await api.listRuns();
  app.activeRunId = await api.activeRunId();
}

/** Runs an action, showing its error in the banner instead of losing it. */
export async function attempt<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    app.error = null;
    return await f();
  } catch (e) {
    const msg = `${what}: ${(e as Error).message}`;
    app.error = msg;
    log('error', msg);
    return undefined;
  }
}

export const fmt = {
  params: (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n)),
  bytes: (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`),
  num: (n: number | null | undefined, d = 3) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d)),
};

/** Training settings as the Train view edits them (also used for the memory estimate). */
export const settings = $state({
  method: 'lora' as 'lora' | 'full',
  r: 16,
  alpha: 32,
  dropout: 0.05,
  rslora: false,
  targets: [] as string[],
  lr: 2e-3,
  schedule: 'cosine' as 'constant' | 'linear' | 'cosine',
  warmup: 5,
  batch: 4,
  gradAccum: 1,
  useSteps: true,
  steps: 60,
  epochs: 1,
  weightDecay: 0,
  clip: 1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  evalEvery: 20,
  patience: 0,
  saveEvery: 10,
  gradCheckpointing: false,
  seed: 42,
  seq: 128,
});
