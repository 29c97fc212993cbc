/**
 * How a run's quantised base reads in its TRL export: TRL's ModelConfig fields (`trl sft --config`
 * turns them into transformers' BitsAndBytesConfig) and the same BitsAndBytesConfig in Python.
 * tabtune's NF4 is bitsandbytes' nf4 with blocksize 64 (its default) and f32 absmax scales, so
 * no nested (double) quantisation; its int8 is per-row absmax weights, which bitsandbytes' LLM.int8
 * comes closest to (it also quantises activations and keeps outlier columns in 16 bits).
 */
import type { BaseQuant } from '../model/base-quant.ts';

/** ModelConfig entries for the quantised base (none for an unquantised one). */
export function trlQuantFields(quant: BaseQuant | undefined): [string, unknown][] {
  if (quant === 'int4') return [['load_in_4bit', true], ['bnb_4bit_quant_type', 'nf4'], ['use_bnb_nested_quant', false]];
  if (quant === 'int8') return [['load_in_8bit', true]];
  return [];
}

/** Keys trlQuantFields writes: model-loading settings, not SFTConfig fields. */
export const TRL_QUANT_KEYS = ['load_in_4bit', 'bnb_4bit_quant_type', 'use_bnb_nested_quant', 'load_in_8bit'];

/** The Python imports trlQuantPython needs. */
export function trlQuantImports(quant: BaseQuant | undefined): string[] {
  if (quant === 'int4') return ['import torch', 'from transformers import BitsAndBytesConfig'];
  return quant === 'int8' ? ['from transformers import BitsAndBytesConfig'] : [];
}

/** The SFTConfig line that loads the base quantised the same way (model_init_kwargs), or none. */
export function trlQuantPython(quant: BaseQuant | undefined): string[] {
  if (quant === 'int4') {
    const bnb = 'load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=False, bnb_4bit_compute_dtype=torch.float32';
    return [`    model_init_kwargs={"quantization_config": BitsAndBytesConfig(${bnb})},`];
  }
  if (quant === 'int8') return ['    model_init_kwargs={"quantization_config": BitsAndBytesConfig(load_in_8bit=True)},'];
  return [];
}
