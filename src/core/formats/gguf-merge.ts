/**
 * A PEFT LoRA adapter merged into one checkpoint weight on the CPU, as PEFT's merge does:
 * W += scaling · B·A for nn.Linear weights [out, in], and W += scaling · (B·A)ᵀ for GPT-2's
 * Conv1D weights [in, out] (fan_in_fan_out). One weight at a time, so a GGUF export streams.
 */
import type { ModuleId } from './peft.ts';
import { loraScaling } from './peft.ts';

/** An adapter's factors: `layers.L.<module>.lora_A` [r, in] and `.lora_B` [out, r]. */
export interface LoraFactors {
  readonly r: number;
  readonly alpha: number;
  readonly rslora: boolean;
  readonly values: ReadonlyMap<string, Float32Array>;
}

export function loraFactorNames(layer: number, module: ModuleId): { a: string; b: string } {
  return { a: `layers.${layer}.${module}.lora_A`, b: `layers.${layer}.${module}.lora_B` };
}

/** The merged weight (a new array), or `w` itself when the adapter does not touch this module. */
export function mergeWeight(w: Float32Array, shape: readonly number[], conv1d: boolean, lora: LoraFactors, layer: number, module: ModuleId): Float32Array {
  const names = loraFactorNames(layer, module);
  const a = lora.values.get(names.a);
  const b = lora.values.get(names.b);
  if (!a || !b) return w;
  const r = lora.r;
  const [rows, cols] = [shape[0]!, shape[1]!];
  const [outF, inF] = conv1d ? [cols, rows] : [rows, cols];
  if (a.length !== r * inF || b.length !== outF * r) throw new RangeError(`LoRA factors of layer ${layer} ${module} do not fit a [${shape}] weight`);
  const s = loraScaling(lora.alpha, r, lora.rslora);
  const out = new Float32Array(w);
  const row = new Float64Array(inF);
  for (let o = 0; o < outF; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const bk = b[o * r + k]!;
      if (bk === 0) continue;
      const aRow = k * inF;
      for (let i = 0; i < inF; i++) row[i] += bk * a[aRow + i]!;
    }
    if (conv1d) for (let i = 0; i < inF; i++) out[i * outF + o] += s * row[i]!;
    else for (let i = 0; i < inF; i++) out[o * inF + i] += s * row[i]!;
  }
  return out;
}
