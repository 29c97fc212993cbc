import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { adamwRef } from '../../src/core/kernels/adamw.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { readModelConfig } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { AdamW } from '../../src/core/train/adamw.ts';
import { loraPlusScale } from '../../src/core/train/param-groups.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

describe('LoRA+', () => {
  it('updates lora_B at ratio × the learning rate of lora_A, as a float64 AdamW with two parameter groups', async () => {
    const gpu = await testGpu();
    const cfg = await readModelConfig(nodeFileTree(DIR));
    const ratio = 16;
    const lr = 1e-3;
    const h = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, maxNorm: 0 };
    const settings = { r: 3, alpha: 6, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, 'all-linear') };
    const lora = LoraAdapter.create(gpu, cfg, settings, 5);
    const grads = lora.store.mirror('gradients', 'g');
    const names = lora.store.names;
    const start = new Map<string, Float32Array>();
    const g = new Map<string, Float32Array>();
    names.forEach((name, i) => {
      const t = lora.store.get(name);
      const n = t.shape[0]! * t.shape[1]!;
      // B starts non-zero here so that weight decay is exercised on both groups.
      start.set(name, randomArray(n, 100 + i, 0.5));
      g.set(name, randomArray(n, 200 + i));
      gpu.write(t.buffer, start.get(name)!, t.offset * 4);
      const gt = grads.get(name);
      gpu.write(gt.buffer, g.get(name)!, gt.offset * 4);
    });
    const step = new StepState(gpu);
    const opt = await AdamW.create(gpu, lora.store, grads, h, step, true, loraPlusScale(ratio));
    step.begin({ lr, ...opt.nextCorrections(), lossScale: 1, seed: 0 });
    gpu.run(opt.program);
    let checked = 0;
    for (const name of names) {
      const t = lora.store.get(name);
      const got = await gpu.readF32(t.buffer, t.offset * 4, start.get(name)!.length);
      const want = Float64Array.from(start.get(name)!);
      const n = want.length;
      const groupLr = name.endsWith('lora_B') ? ratio * lr : lr;
      adamwRef(want, g.get(name)!, new Float64Array(n), new Float64Array(n), 1, groupLr, h);
      expect(relError(got, want), name).toBeLessThan(1e-5);
      // The first Adam step moves each weight by about its group's rate (|m̂/√v̂| = 1).
      const moved = Math.abs(got[0]! - start.get(name)![0]! * (1 - groupLr * h.weightDecay));
      expect(moved / groupLr).toBeCloseTo(1, 3);
      checked++;
    }
    expect(checked).toBe(2 * 7 * cfg.layers);
    opt.destroy(); grads.destroy(); lora.destroy(); step.destroy();
  });

  it('groups lora_B and 1-D parameters at the ratio, lora_A at 1, and refuses a ratio that is not positive', () => {
    const s = loraPlusScale(4);
    expect(s('layers.0.self_attn.q_proj.lora_B', [8, 2])).toBe(4);
    expect(s('layers.0.self_attn.q_proj.lora_A', [2, 8])).toBe(1);
    expect(s('layers.0.self_attn.q_proj.lora_magnitude_vector', [8])).toBe(4);
    expect(() => loraPlusScale(0)).toThrow(/positive/);
  });
});
