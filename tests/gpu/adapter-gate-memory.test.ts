/**
 * The gate's training memory estimate (model/adapter-gate-memory.ts, shown in the app's "Learned
 * gate" card) against the GPU ledger's peak while a gate over two adapters trains on the demo model.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { linearModules, resolveTargets } from '../../src/core/formats/peft.ts';
import { AdapterGate } from '../../src/core/model/adapter-gate.ts';
import { estimateGateMemory } from '../../src/core/model/adapter-gate-memory.ts';
import type { GateAdapter } from '../../src/core/model/adapter-gate-stack.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter, type LoraSettings } from '../../src/core/model/lora.ts';
import { trainGate } from '../../src/core/train/adapter-gate-train.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { randomArray, testGpu } from './gpu-harness.ts';

const DEMO = fileURLToPath(new URL('../../public/models/demo-base', import.meta.url));

describe('adapter gate memory estimate', () => {
  it('matches the ledger\'s peak within 15% (two adapters, 2x64)', async () => {
    const gpu = await testGpu();
    gpu.pool.trim();
    const base = gpu.ledger.total;
    gpu.ledger.resetPeak();
    const model = await loadTransformer(gpu, nodeFileTree(DEMO));
    const cfg = model.cfg;
    const adapter = (name: string, settings: LoraSettings, seed: number): GateAdapter => {
      const { specs } = LoraAdapter.layout(cfg, settings);
      const values = new Map(specs.map((s, i) => [s.name, randomArray(s.shape[0]! * s.shape[1]!, seed * 1000 + i, 0.1)]));
      return { name, files: { settings, values }, baseModel: null };
    };
    const adapters = [
      adapter('a', { r: 8, alpha: 16, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, 'all-linear') }, 1),
      adapter('b', { r: 4, alpha: 8, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, ['q_proj', 'v_proj']) }, 2),
    ];
    const gate = await AdapterGate.create(gpu, cfg, adapters);
    gate.attach(model);
    const [batch, seq] = [2, 64];
    const row = { inputIds: new Array(seq).fill(5), labels: new Array(seq).fill(5) };
    await trainGate(model, gate, [row, row, row], seq, { steps: 2, batch, lr: 1e-2, weightDecay: 0, seed: 1 });
    const measured = gpu.ledger.peak - base;
    const used = new Set(adapters.flatMap((a) => a.files.settings.targets));
    const modules = linearModules(cfg.arch, cfg).filter((m) => used.has(m.id)).map((m) => m.features(cfg));
    const parts = estimateGateMemory(cfg, { ranks: [8, 4], modules, batch, seq });
    const estimate = Object.values(parts).reduce((a, b) => a + b, 0);
    console.log(`gate 2x${seq}: estimate ${(estimate / 2 ** 20).toFixed(2)} MiB, measured ${(measured / 2 ** 20).toFixed(2)} MiB`);
    expect(Math.abs(estimate - measured) / measured).toBeLessThan(0.15);
    gate.detach(model);
    gate.destroy();
    model.destroy();
  });
});
