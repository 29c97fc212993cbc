import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { linearModules, resolveTargets } from '../../src/core/formats/peft.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const DEMO = fileURLToPath(new URL('../../public/models/demo-base', import.meta.url));

describe('memory estimate', () => {
  const cases = [
    { method: 'lora' as const, batch: 2, seq: 64, checkpointing: false },
    { method: 'lora' as const, batch: 4, seq: 128, checkpointing: true },
    { method: 'full' as const, batch: 2, seq: 32, checkpointing: false },
  ];
  for (const c of cases) {
    it(`matches the ledger's peak within 15% (${c.method}, ${c.batch}x${c.seq}${c.checkpointing ? ', recompute' : ''})`, async () => {
      const gpu = await testGpu();
      gpu.pool.trim();
      const base = gpu.ledger.total;
      gpu.ledger.resetPeak();
      const model = await loadTransformer(gpu, nodeFileTree(DEMO));
      const cfg = trainConfig({ method: c.method, batch: c.batch, steps: 1, gradCheckpointing: c.checkpointing, lora: { r: 16, alpha: 32, dropout: 0.05 } });
      const targets = resolveTargets(model.cfg.arch, 'all-linear');
      if (c.method === 'lora') model.lora = LoraAdapter.create(gpu, model.cfg, { r: 16, alpha: 32, dropout: 0.05, rslora: false, targets }, 1);
      const row = { inputIds: new Array(c.seq).fill(5), labels: new Array(c.seq).fill(5) };
      const trainer = await Trainer.create({ model, config: cfg, seq: c.seq, train: [row, row], validation: [row] });
      await trainer.run();
      const measured = gpu.ledger.peak - base;
      const modules = linearModules(model.cfg.arch).filter((m) => targets.includes(m.id)).map((m) => m.features(model.cfg));
      const parts = estimateTrainingMemory(model.cfg, {
        method: c.method, batch: c.batch, seq: c.seq, r: 16, loraModules: modules, loraDropout: 0.05, gradCheckpointing: c.checkpointing, validation: true,
      });
      const estimate = Object.values(parts).reduce((a, b) => a + b, 0);
      console.log(`${c.method} ${c.batch}x${c.seq}: estimate ${(estimate / 2 ** 20).toFixed(1)} MiB, measured ${(measured / 2 ** 20).toFixed(1)} MiB`);
      expect(Math.abs(estimate - measured) / measured).toBeLessThan(0.15);
      trainer.destroy();
      model.destroy();
    });
  }
});
