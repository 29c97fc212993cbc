import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config.ts';
import { placements } from '../../src/core/model/layout.ts';
import { PRESETS } from '../../src/core/model/presets.ts';

/** Parameter counts as the model cards / safetensors metadata on the Hugging Face Hub state them. */
const PUBLISHED: Record<string, number> = {
  'smollm2-135m': 134_515_008,
  'smollm2-360m': 361_821_120,
  'llama-3.2-1b': 1_235_814_400,
  'qwen3-0.6b': 596_049_920,
  'qwen2.5-0.5b': 494_032_768,
  gpt2: 124_439_808,
  'gemma-3-270m': 268_098_176,
  'gemma-3-1b': 999_885_952,
  // The Hub states "701M params" (rounded to millions).
  'tinymixtral-4x248m': 701e6,
  // The Hub states "6.92B params"; counted here: 6,919,161,856.
  'olmoe-1b-7b': 6_919_161_856,
};

describe('init --like shapes', () => {
  it('every preset has a published parameter count to check against', () => {
    expect(Object.keys(PRESETS).sort()).toEqual(Object.keys(PUBLISHED).sort());
  });
  for (const [name, config] of Object.entries(PRESETS)) {
    it(`${name}: the tensors the layout implies add up to the published parameter count`, () => {
      const cfg = parseConfig(config, `${name} preset`);
      const count = placements(cfg, [{ start: 0, rows: cfg.vocabSize }]).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
      if (name === 'tinymixtral-4x248m') expect(Math.round(count / 1e6) * 1e6).toBe(PUBLISHED[name]);
      else expect(count).toBe(PUBLISHED[name]);
    });
  }
});
