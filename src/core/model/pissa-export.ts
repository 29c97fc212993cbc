/** PEFT's init_lora_weights values tabtune runs: the default (kaiming A, zero B) or PiSSA. */
export type LoraInit = 'default' | 'pissa' | `pissa_niter_${number}`;

/** "pissa" (exact SVD) or "pissa_niter_N" (randomized, N power iterations); null for the default init. */
export function pissaIterations(init: string | undefined): { niter: number | undefined } | null {
  if (init === undefined || init === 'default') return null;
  if (init === 'pissa') return { niter: undefined };
  const m = /^pissa_niter_(\d+)$/.exec(init);
  if (m) return { niter: Number(m[1]) };
  throw new RangeError(`init_lora_weights must be default, pissa or pissa_niter_N, got "${init}"`);
}

/**
 * PEFT's conversion of a PiSSA adapter to a plain LoRA against the original base
 * (save_pretrained(path_initial_model_for_weight_conversion=…)): A' = [A; A0], B' = [B, −B0], rank 2r,
 * alpha doubled (×√2 with rsLoRA) so the scaling stays; s·B'·A' = s·(B·A − B0·A0).
 */
export function pissaAsLora(which: 'A' | 'B', trained: Float32Array, initial: Float32Array, r: number, rows: number): Float32Array {
  if (which === 'A') {
    const out = new Float32Array(2 * trained.length);
    out.set(trained, 0);
    out.set(initial, trained.length);
    return out;
  }
  const out = new Float32Array(rows * 2 * r);
  for (let j = 0; j < rows; j++) {
    for (let k = 0; k < r; k++) {
      out[j * 2 * r + k] = trained[j * r + k]!;
      out[j * 2 * r + r + k] = -initial[j * r + k]!;
    }
  }
  return out;
}

export function pissaAlpha(alpha: number, rslora: boolean): number {
  return rslora ? alpha * Math.SQRT2 : 2 * alpha;
}
