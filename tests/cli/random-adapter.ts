/** PEFT adapter folders with random weights for the tiny-llama fixture: adapters that change its answers, for the multi-adapter CLI tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adapterConfigJson, findModule, loraKey, magnitudeKey } from '../../src/core/formats/peft.ts';
import { writeSafetensors } from '../../src/core/formats/safetensors.ts';
import { Rng } from '../../src/core/rng.ts';

/** tiny-llama's block shape. */
const BLOCK = { hidden: 64, heads: 4, kvHeads: 2, headDim: 16, intermediate: 176 };

/**
 * Writes a LoRA adapter (rank `r` on `targets` in both layers, A and B uniform in ±0.3 from `seed`) into `dir`.
 * `hidden` other than the model's makes an adapter that does not fit it; `config` adds to adapter_config.json
 * (`use_dora: true` also writes random magnitude vectors).
 */
export function writeRandomAdapter(
  dir: string, r: number, targets: string[], seed: number, options: { hidden?: number; config?: Record<string, unknown> } = {},
): string {
  const { hidden = BLOCK.hidden, config = {} } = options;
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const rand = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
  const tensors = [];
  for (let layer = 0; layer < 2; layer++) {
    for (const t of targets) {
      const f = findModule('llama', t).features({ ...BLOCK, hidden });
      tensors.push({ name: loraKey('llama', layer, t, 'A'), dtype: 'F32' as const, shape: [r, f.in], data: rand(r * f.in, 0.3) });
      tensors.push({ name: loraKey('llama', layer, t, 'B'), dtype: 'F32' as const, shape: [f.out, r], data: rand(f.out * r, 0.3) });
      if (config.use_dora) tensors.push({ name: magnitudeKey('llama', layer, t), dtype: 'F32' as const, shape: [f.out], data: rand(f.out, 1) });
    }
  }
  writeFileSync(join(dir, 'adapter_model.safetensors'), writeSafetensors(tensors));
  const adapterConfig = { ...adapterConfigJson({ arch: 'llama', r, alpha: 2 * r, targetModules: targets }), ...config };
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(adapterConfig));
  return dir;
}
