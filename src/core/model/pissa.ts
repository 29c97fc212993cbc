import type { Tensor } from '../gpu/tensor.ts';
import type { LoraAdapter } from './lora.ts';
import { pissaIterations } from './pissa-export.ts';
import { topSingular } from './svd.ts';
import type { Transformer } from './transformer.ts';

/** Base rows of a module: its output rows of the site's fused f32 weight. */
function baseRows(model: Transformer, layer: number, site: LoraAdapter['modules'][number]['site']): Tensor {
  const w = model.lin(layer, site);
  if (!('buffer' in w)) throw new Error('PiSSA needs the base weights in f32 (this model holds them quantised or as f16)');
  return w;
}

/**
 * PiSSA (PEFT's init_lora_weights="pissa"): for each adapted weight W = U·S·Vᵀ, A = √(S_r/s)·V_rᵀ,
 * B = U_r·√(S_r/s), and the base becomes the residual W − s·B·A. SVD in float64 on the CPU. The
 * initial A and B are kept so the export can be a plain LoRA against the original base.
 */
export async function initPissa(model: Transformer, init: string, seed: number): Promise<void> {
  const lora = model.lora;
  const how = pissaIterations(init);
  if (!lora || !how) throw new Error('PiSSA initialises an attached LoRA adapter');
  if (lora.pissaInitial) throw new Error('this adapter is already PiSSA-initialised (its base holds the residual)');
  if (lora.settings.dora) throw new Error('PiSSA with DoRA is not supported: choose one');
  const { gpu } = model;
  const r = lora.settings.r;
  const s = lora.scaling;
  const initial = new Map<string, Float32Array>();
  for (const [index, m] of lora.modules.entries()) {
    const w = baseRows(model, m.layer, m.site);
    const offset = (w.offset + m.col * m.in) * 4;
    const W = Float64Array.from(await gpu.readF32(w.buffer, offset, m.out * m.in));
    const { U, S, V } = topSingular(W, m.out, m.in, r, how.niter, seed * 7919 + index);
    const A = new Float32Array(r * m.in);
    const B = new Float32Array(m.out * r);
    for (let k = 0; k < r; k++) {
      const root = Math.sqrt(S[k]! / s);
      for (let i = 0; i < m.in; i++) A[k * m.in + i] = root * V[i * r + k]!;
      for (let j = 0; j < m.out; j++) B[j * r + k] = U[j * r + k]! * root;
    }
    // The residual from the float32 factors the model will use, so that residual + s·B·A = W.
    for (let j = 0; j < m.out; j++) {
      for (let i = 0; i < m.in; i++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += B[j * r + k]! * A[k * m.in + i]!;
        W[j * m.in + i] -= s * d;
      }
    }
    gpu.write(w.buffer, Float32Array.from(W), offset);
    for (const [name, data] of [[m.a, A], [m.b, B]] as const) {
      const t = lora.store.get(name);
      gpu.write(t.buffer, data, t.offset * 4);
      initial.set(name, data);
    }
  }
  lora.pissaInitial = initial;
}

/** Undoes the residual when a PiSSA adapter leaves its model: W = residual + s·B0·A0 (up to float rounding). */
export async function restorePissaBase(model: Transformer, lora: LoraAdapter): Promise<void> {
  const initial = lora.pissaInitial;
  if (!initial) return;
  const r = lora.settings.r;
  for (const m of lora.modules) {
    const w = baseRows(model, m.layer, m.site);
    const offset = (w.offset + m.col * m.in) * 4;
    const W = await model.gpu.readF32(w.buffer, offset, m.out * m.in);
    const A = initial.get(m.a)!;
    const B = initial.get(m.b)!;
    for (let j = 0; j < m.out; j++) {
      for (let i = 0; i < m.in; i++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += B[j * r + k]! * A[k * m.in + i]!;
        W[j * m.in + i] = W[j * m.in + i]! + lora.scaling * d;
      }
    }
    model.gpu.write(w.buffer, W, offset);
  }
  lora.pissaInitial = null;
}
