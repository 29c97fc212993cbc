/** A model's weights in float64 for the references, and LoRA merged into them the way PEFT merges it. */
import { SafetensorsModel } from '../../src/core/formats/safetensors.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';

/** Float64 tensors by Hugging Face name. */
export type Weights = Map<string, Float64Array>;

/** Every tensor of the model folder `dir`, in float64. */
export async function readWeights(dir: string): Promise<Weights> {
  const st = await SafetensorsModel.open(nodeFileTree(dir));
  const w: Weights = new Map();
  for (const n of st.names()) w.set(n, Float64Array.from(await st.readF32(n)));
  return w;
}

/** One LoRA module's values: A [r, inF] and B [outF, r] of `model.layers.{layer}.{id}`. */
export interface LoraValues { layer: number; id: string; inF: number; outF: number; A: Float64Array; B: Float64Array }

/** The base weights with every LoRA module merged in: W + s·B·A (what PEFT's merge computes). */
export function loraMerged(base: Weights, mods: readonly LoraValues[], r: number, s: number): Weights {
  const w = new Map(base);
  for (const m of mods) {
    const name = `model.layers.${m.layer}.${m.id}.weight`;
    const W = Float64Array.from(base.get(name)!);
    for (let o = 0; o < m.outF; o++) for (let i = 0; i < m.inF; i++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += m.B[o * r + k]! * m.A[k * m.inF + i]!;
      W[o * m.inF + i]! += s * acc;
    }
    w.set(name, W);
  }
  return w;
}
