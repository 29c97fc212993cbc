import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { doraCombine, doraMagnitudeGrad, doraNorms, doraScaleRows, doraSplit } from '../kernels/dora.ts';
import { matmul } from '../kernels/matmul.ts';
import { linearBackwardParams, linearForward, mat, type Mat } from './linear.ts';

/** One DoRA module: its LoRA factors and magnitude, and its rows [col, col + out) of the base weight. */
export interface DoraModule {
  readonly in: number;
  readonly out: number;
  readonly col: number;
  /** Where its n (and, total further on, mns) start in the state buffer. */
  readonly doraOffset: number;
}

export interface DoraWeights {
  /** The fused base weight [·, in] of the module's site (f32). */
  readonly base: Tensor;
  readonly a: Tensor;
  readonly b: Tensor;
  readonly magnitude: Tensor;
  readonly r: number;
  readonly scaling: number;
}

interface Scratch {
  readonly rows: number;
  readonly base: Tensor;
  readonly lora: Tensor;
}

/**
 * DoRA's per-adapter GPU state: the detached column norms n and the scales mns = m / n of every
 * module (rewritten by each forward), W' = W + s·B·A scratch, and [T, out] scratch per row count.
 * Plans replay one after another on one queue, so plans of a row count share scratch.
 */
export class DoraState {
  readonly state: GPUBuffer;
  private readonly wPrime: Tensor;
  private readonly scratch: Scratch[] = [];

  constructor(private readonly gpu: Gpu, readonly total: number, private readonly maxOut: number, maxWeight: number) {
    this.state = gpu.createBuffer(2 * total * 4, 'activations', 'dora-norms');
    this.wPrime = tensorOf(gpu.createBuffer(maxWeight * 4, 'scratch', 'dora-w'), [maxWeight]);
  }

  n(m: DoraModule): Tensor {
    return tensorOf(this.state, [m.out], m.doraOffset);
  }

  mns(m: DoraModule): Tensor {
    return tensorOf(this.state, [m.out], this.total + m.doraOffset);
  }

  private rows(T: number): Scratch {
    const have = this.scratch.find((s) => s.rows >= T);
    if (have) return have;
    const make = (label: string) => tensorOf(this.gpu.createBuffer(T * this.maxOut * 4, 'activations', label), [T * this.maxOut]);
    const s = { rows: T, base: make('dora-base'), lora: make('dora-lora') };
    this.scratch.push(s);
    return s;
  }

  /** The module's rows of the base weight. */
  private slice(m: DoraModule, w: DoraWeights): Tensor {
    return { ...w.base, offset: w.base.offset + m.col * m.in, shape: [m.out, m.in] };
  }

  /** n = ‖W + s·B·A‖ per output row and mns = m / n (a NaN m takes n: PEFT's first-forward init). */
  async norms(p: Program, m: DoraModule, w: DoraWeights): Promise<void> {
    const ws = this.slice(m, w);
    p.add({ kind: 'copy', src: ws.buffer, srcOffset: ws.offset * 4, dst: this.wPrime.buffer, dstOffset: 0, size: m.out * m.in * 4 });
    await matmul(this.gpu, p, { a: w.b, b: w.a, c: this.wPrime, M: m.out, N: m.in, K: w.r, alpha: w.scaling, beta: 1 });
    await doraNorms(this.gpu, p, m.out, m.in, this.wPrime, w.magnitude, this.n(m), this.mns(m));
  }

  /**
   * y[:, col..] += (mns − 1)·(x Wᵀ) + mns·s·(x Aᵀ Bᵀ), as PEFT's DoraLinearLayer (x is the
   * dropout output when training with dropout); t = x Aᵀ is kept for the backward.
   */
  async forward(p: Program, T: number, m: DoraModule, w: DoraWeights, x: Mat, y: Mat, t: Tensor): Promise<void> {
    const g = this.gpu;
    const s = this.rows(T);
    await this.norms(p, m, w);
    await linearForward(g, p, T, x, w.a, w.r, m.in, mat(t, w.r));
    await linearForward(g, p, T, mat(t, w.r), w.b, m.out, w.r, mat(s.lora, m.out), { alpha: w.scaling });
    await linearForward(g, p, T, x, this.slice(m, w), m.out, m.in, mat(s.base, m.out));
    const yc = mat(y.t, y.ld, m.col);
    await doraCombine(g, p, T, m.out, yc.t, yc.ld, s.base, s.lora, this.mns(m));
  }

  /**
   * The backward of the DoRA term with n held constant (PEFT detaches it): dm += Σ dy·(x W'ᵀ)/n,
   * dB and dA through dz = dy·mns, and dxIn (+)= (dy·(mns − 1)) W + s·(dz B) A, where dxIn is the
   * gradient of the module's (dropout) input. `dt` is [T, r] scratch.
   */
  async backward(
    p: Program, T: number, m: DoraModule, w: DoraWeights, x: Mat, dy: Mat, t: Tensor, dt: Tensor, dxIn: Mat, accumulate: boolean,
    grads: { a: Tensor; b: Tensor; magnitude: Tensor } | null,
  ): Promise<void> {
    const g = this.gpu;
    const s = this.rows(T);
    const dyc = mat(dy.t, dy.ld, m.col);
    const ws = this.slice(m, w);
    await linearForward(g, p, T, x, ws, m.out, m.in, mat(s.base, m.out));
    await linearForward(g, p, T, mat(t, w.r), w.b, m.out, w.r, mat(s.lora, m.out), { alpha: w.scaling });
    if (grads) await doraMagnitudeGrad(g, p, T, m.out, dyc.t, dyc.ld, s.base, s.lora, this.n(m), grads.magnitude);
    // From here s.lora holds dz = dy·mns and s.base holds dy·(mns − 1).
    await doraSplit(g, p, T, m.out, dyc.t, dyc.ld, s.lora, s.base, this.mns(m));
    if (grads) await linearBackwardParams(g, p, T, mat(s.lora, m.out), mat(t, w.r), m.out, w.r, grads.b, undefined, w.scaling);
    await matmul(g, p, { a: s.lora, b: w.b, c: dt, M: T, N: w.r, K: m.out, alpha: w.scaling });
    if (grads) await linearBackwardParams(g, p, T, mat(dt, w.r), x, w.r, m.in, grads.a);
    await matmul(g, p, { a: dt, b: w.a, c: dxIn.t, ldc: dxIn.ld, M: T, N: m.in, K: w.r, beta: accumulate ? 1 : 0 });
    await matmul(g, p, { a: s.base, b: ws, c: dxIn.t, ldc: dxIn.ld, M: T, N: m.in, K: m.out, beta: 1 });
  }

  /** Merges in place: W ← mns·(W + s·B·A) row by row (PEFT's merge, with n of the merged rows). */
  async merge(p: Program, m: DoraModule, w: DoraWeights): Promise<void> {
    const ws = this.slice(m, w);
    await matmul(this.gpu, p, { a: w.b, b: w.a, c: ws, M: m.out, N: m.in, K: w.r, alpha: w.scaling, beta: 1 });
    await doraNorms(this.gpu, p, m.out, m.in, ws, w.magnitude, this.n(m), this.mns(m));
    await doraScaleRows(this.gpu, p, m.out, m.in, ws, this.mns(m));
  }

  destroy(): void {
    this.gpu.destroyBuffer(this.state);
    this.gpu.destroyBuffer(this.wPrime.buffer);
    for (const s of this.scratch) {
      this.gpu.destroyBuffer(s.base.buffer);
      this.gpu.destroyBuffer(s.lora.buffer);
    }
  }
}
