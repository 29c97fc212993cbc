/** How the Train form holds the base model: full precision, f16 halves, int8 or NF4 (the CLI's --precision and --quant). */
import type { BaseQuant } from '../../core/model/base-quant.ts';
import type { Precision, PrecisionChoice } from '../../core/model/precision.ts';
import type { GpuInfo } from '../../worker/api.ts';

export interface BaseForm {
  readonly method: 'lora' | 'full';
  readonly quant: BaseQuant;
  readonly precision: PrecisionChoice;
}

/** Why f16 cannot be chosen on this adapter, or null when it can. */
export function f16Unavailable(info: GpuInfo | null): string | null {
  if (!info) return 'the GPU has not been checked yet';
  if (info.features.includes('shader-f16')) return null;
  return `${info.adapter.description || 'this GPU'} does not offer the WebGPU feature shader-f16`;
}

/** The base a run will load: a quantised base only for LoRA; f16 only for an unquantised LoRA base on an adapter with shader-f16. */
export function heldBase(f: BaseForm, info: GpuInfo | null): { quant: BaseQuant; precision: Precision } {
  const quant = f.method === 'lora' ? f.quant : 'none';
  const f16 = f.method === 'lora' && quant === 'none' && f16Unavailable(info) === null && (f.precision === 'f16' || f.precision === 'auto');
  return { quant, precision: f16 ? 'f16' : 'f32' };
}

/** Choices that cannot run, in words (the Start button stays off while there are any). */
export function baseProblems(f: BaseForm, info: GpuInfo | null): string[] {
  const out: string[] = [];
  const why = f16Unavailable(info);
  if (f.precision === 'f16' && why && info) out.push(`Precision f16 is not available: ${why} (choose f32 or auto)`);
  if (f.method === 'full' && f.quant !== 'none') out.push(`An ${f.quant} base is frozen: it trains with LoRA only`);
  if (f.method === 'full' && f.precision === 'f16') out.push('An f16 base trains with LoRA only (full fine-tuning keeps f32 weights)');
  return out;
}
