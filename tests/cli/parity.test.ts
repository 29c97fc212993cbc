/**
 * One run pipeline: the same small job through the Worker's API (Workbench, in Node) and through
 * the built CLI gives the same losses, the same adapter bytes and the same evaluation numbers.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource } from '../../src/core/formats/bytes.ts';
import type { RunEvent } from '../../src/core/workspace/api.ts';
import { MemoryStore } from '../../src/core/workspace/store.ts';
import { Workbench } from '../../src/core/workspace/workbench.ts';
import { localTree } from '../../src/platform/browser-files.ts';
import { acquireNodeGpu } from '../../src/platform/node-gpu.ts';
import { buildCli, ROOT, tabtune } from './cli-harness.ts';

const TINY = join(ROOT, 'tests/fixtures/hf/models/tiny-llama');

/** The assistant repeats the user's words: learnable by the tiny model in a few steps. */
function chatJsonl(n: number): string {
  const words = ['sun', 'moon', 'star', 'sky', 'sea', 'tree', 'rock', 'bird'];
  return Array.from({ length: n }, (_, i) => {
    const w = `${words[i % 8]} ${words[(i * 5) % 8]}`;
    return JSON.stringify({ messages: [{ role: 'user', content: `say ${w}` }, { role: 'assistant', content: w }] });
  }).join('\n');
}

const records = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

/** Every hyperparameter given on both sides, so neither host's defaults decide. */
const JOB = { steps: 6, lr: 2e-2, batch: 4, gradAccum: 1, warmup: 1, schedule: 'linear', weightDecay: 0.01, clip: 1, seed: 7, evalEvery: 3, r: 4, alpha: 8 } as const;

async function tensors(bytes: Uint8Array): Promise<Map<string, Float32Array>> {
  const st = await SafetensorsFile.open(bytesSource('adapter', bytes));
  const out = new Map<string, Float32Array>();
  for (const name of st.names()) out.set(name, await st.readF32(name));
  return out;
}

beforeAll(buildCli);

describe('the same job through the Workbench and through the CLI', () => {
  it('gives identical losses, adapter bytes and evaluation numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-parity-'));
    const data = join(dir, 'echo.jsonl');
    writeFileSync(data, chatJsonl(40));

    // The Worker's path.
    const wb = new Workbench({
      acquireGpu: () => acquireNodeGpu(),
      store: new MemoryStore(),
      openModel: async (source, files) => localTree(source.kind === 'local' ? source.name : 'model', files ?? []),
      cachedModels: async () => [],
      localTree,
    });
    const files = readdirSync(TINY).filter((f) => f !== 'adapter' && !f.startsWith('reference')).map((f) => ({ path: `tiny-llama/${f}`, file: new Blob([readFileSync(join(TINY, f))]) }));
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, files);
    const ds = await wb.importDataset('echo.jsonl', readFileSync(data), { validationFraction: 0.25, splitSeed: JOB.seed, maxLength: 48, packing: true, maskPrompt: true });
    const events: RunEvent[] = [];
    const runId = await wb.startRun({
      datasetId: ds.id,
      config: {
        method: 'lora', steps: JOB.steps, lr: JOB.lr, batch: JOB.batch, gradAccum: JOB.gradAccum, warmup: JOB.warmup, schedule: JOB.schedule,
        weightDecay: JOB.weightDecay, clip: JOB.clip, seed: JOB.seed, evalEvery: JOB.evalEvery, shuffle: true,
        lora: { r: JOB.r, alpha: JOB.alpha, dropout: 0, targets: 'all-linear', rslora: false },
      },
    }, (e) => events.push(e));
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    expect((await wb.getRun(runId)).state).toBe('finished');
    const wbLosses = events.filter((e) => e.type === 'step').map((e) => (e as Extract<RunEvent, { type: 'step' }>).loss);
    const wbVal = events.filter((e) => e.type === 'eval').map((e) => (e as Extract<RunEvent, { type: 'eval' }>).valLoss);
    const zip = unzipSync((await wb.exportAdapter(runId)).bytes);
    const wbAdapter = Object.entries(zip).find(([p]) => p.endsWith('/adapter_model.safetensors'))![1];
    const wbEval = await wb.evaluate({ datasetId: ds.id, split: 'all', runId });

    // The CLI's path, with the same settings as flags.
    const out = join(dir, 'out');
    const train = tabtune(
      'train', '--model', TINY, '--data', data, '--out', out, '--json', '--val-split', '0.25', '--max-seq-len', '48', '--packing', '--mask-prompt',
      '--steps', String(JOB.steps), '--lr', String(JOB.lr), '--batch', String(JOB.batch), '--grad-accum', String(JOB.gradAccum),
      '--warmup', String(JOB.warmup), '--schedule', JOB.schedule, '--weight-decay', String(JOB.weightDecay), '--clip', String(JOB.clip),
      '--seed', String(JOB.seed), '--eval-every', String(JOB.evalEvery), '--shuffle', '--method', 'lora',
      '--lora-r', String(JOB.r), '--lora-alpha', String(JOB.alpha), '--lora-dropout', '0', '--lora-targets', 'all-linear',
    );
    expect(train.code, train.stderr).toBe(0);
    const lines = records(train.stdout);
    const cliLosses = lines.filter((l) => 'loss' in l && 'step' in l).map((l) => l['loss'] as number);
    const cliVal = lines.filter((l) => 'eval' in l).map((l) => (l['eval'] as { val_loss: number }).val_loss);
    const cliAdapter = readFileSync(join(out, 'adapter_model.safetensors'));
    const evalRun = tabtune('eval', '--model', TINY, '--adapter', out, '--data', data, '--max-seq-len', '48', '--json');
    expect(evalRun.code, evalRun.stderr).toBe(0);
    const cliEval = records(evalRun.stdout)[0]!;

    expect(wbLosses).toHaveLength(JOB.steps);
    expect(cliLosses).toEqual(wbLosses);
    expect(wbVal).toHaveLength(2);
    expect(cliVal).toEqual(wbVal);
    // The tensors are bit-identical; so are the files (same tensors, same header).
    const [a, b] = [await tensors(new Uint8Array(cliAdapter)), await tensors(wbAdapter)];
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, t] of a) expect(Buffer.from(t.buffer).equals(Buffer.from(b.get(name)!.buffer)), name).toBe(true);
    expect(Buffer.from(cliAdapter).equals(Buffer.from(wbAdapter))).toBe(true);
    expect(cliEval['loss']).toBe(wbEval.loss);
    expect(cliEval['perplexity']).toBe(wbEval.perplexity);
    expect(cliEval['tokens']).toBe(wbEval.tokens);
    // Training moved the model: the comparison is not between two untouched adapters.
    expect(wbLosses.at(-1)!).toBeLessThan(wbLosses[0]!);
  });
});
