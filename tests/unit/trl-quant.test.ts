import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config.ts';
import { PRESETS } from '../../src/core/model/presets.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { trlConfig, type RunManifest } from '../../src/core/train/manifest.ts';
import { preferenceTrlConfig } from '../../src/core/train/preference/trl-config.ts';
import type { BaseQuant } from '../../src/core/model/base-quant.ts';

const cfg = parseConfig(PRESETS['smollm2-135m']!);
const manifest = (quant?: BaseQuant): RunManifest => ({
  tabtune: '0', createdAt: '2026-01-01T00:00:00Z',
  model: { name: 'm', source: { repo: 'HuggingFaceTB/SmolLM2-135M' }, arch: 'llama', parameters: 1, dtype: 'BF16' },
  dataset: {
    name: 'd', hash: '', version: 1, format: 'prompt-completion', trainRows: 10, validationRows: 0, maxLength: 128, packing: false,
    maskPrompt: true, validationFraction: 0, splitSeed: 1, chatTemplate: null,
  },
  config: trainConfig({ steps: 10, ...(quant && { quant }) }), seq: 128, totalSteps: 10,
  metrics: { steps: 10, finalLoss: 1, bestValLoss: null, evals: [] }, adapterHash: null, targetModules: ['q_proj'],
});

describe('the TRL export of a run on a quantised base', () => {
  it('NF4: TRL ModelConfig fields, and BitsAndBytesConfig in the script as transformers names it', () => {
    const { yaml, python } = trlConfig(manifest('int4'), cfg);
    expect(yaml).toMatch(/^load_in_4bit: true$/m);
    expect(yaml).toMatch(/^bnb_4bit_quant_type: "nf4"$/m);
    expect(yaml).toMatch(/^use_bnb_nested_quant: false$/m);
    expect(yaml).not.toMatch(/load_in_8bit/);
    expect(python).toMatch(/^from transformers import BitsAndBytesConfig$/m);
    expect(python).toContain(
      '    model_init_kwargs={"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", '
      + 'bnb_4bit_use_double_quant=False, bnb_4bit_compute_dtype=torch.float32)},',
    );
    // Model-loading fields are not SFTConfig arguments.
    expect(python).not.toMatch(/^\s+load_in_4bit=/m);
  });

  it('int8: load_in_8bit; an unquantised base has none of it', () => {
    const q8 = trlConfig(manifest('int8'), cfg);
    expect(q8.yaml).toMatch(/^load_in_8bit: true$/m);
    expect(q8.python).toContain('BitsAndBytesConfig(load_in_8bit=True)');
    for (const m of [manifest(), manifest('none')]) {
      const plain = trlConfig(m, cfg);
      expect(plain.yaml).not.toMatch(/load_in|bnb_/);
      expect(plain.python).not.toMatch(/BitsAndBytesConfig|import torch/);
    }
  });

  it('preference exports keep it (DPOConfig takes model_init_kwargs too)', () => {
    const o = { method: 'dpo', beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0 } as const;
    const { yaml, python } = preferenceTrlConfig(manifest('int4'), cfg, o as never);
    expect(yaml).toMatch(/^load_in_4bit: true$/m);
    expect(python).toMatch(/args = DPOConfig\([\s\S]*model_init_kwargs=\{"quantization_config": BitsAndBytesConfig\(load_in_4bit=True/);
  });
});
