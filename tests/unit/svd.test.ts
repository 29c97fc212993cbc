import { describe, expect, it } from 'vitest';
import { topSingular } from '../../src/core/model/svd.ts';
import { Rng } from '../../src/core/rng.ts';

/** Orthonormal columns [m, k] from a seeded random matrix (Gram-Schmidt). */
function orthonormal(m: number, k: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const Q = Float64Array.from({ length: m * k }, () => rng.next() * 2 - 1);
  for (let c = 0; c < k; c++) {
    for (let p = 0; p < c; p++) {
      let d = 0;
      for (let i = 0; i < m; i++) d += Q[i * k + c]! * Q[i * k + p]!;
      for (let i = 0; i < m; i++) Q[i * k + c] -= d * Q[i * k + p]!;
    }
    let n = 0;
    for (let i = 0; i < m; i++) n += Q[i * k + c]! ** 2;
    for (let i = 0; i < m; i++) Q[i * k + c] /= Math.sqrt(n);
  }
  return Q;
}

/** W = U·diag(S)·Vᵀ with known singular values. */
function known(rows: number, cols: number, S: number[]): Float64Array {
  const k = S.length;
  const U = orthonormal(rows, k, 1);
  const V = orthonormal(cols, k, 2);
  const W = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let c = 0; c < k; c++) W[i * cols + j] += U[i * k + c]! * S[c]! * V[j * k + c]!;
  return W;
}

describe('top singular triplets (PiSSA init)', () => {
  for (const [rows, cols] of [[13, 7], [7, 13], [9, 9]]) {
    for (const niter of [undefined, 4]) {
      it(`${rows}×${cols}, ${niter === undefined ? 'exact' : `randomized with ${niter} power iterations`}`, () => {
        const spectrum = Array.from({ length: Math.min(rows, cols) }, (_, i) => 10 / (i + 1) ** 1.5);
        const W = known(rows, cols, spectrum);
        const r = 3;
        const { U, S, V } = topSingular(W, rows, cols, r, niter, 5);
        for (let c = 0; c < r; c++) expect(S[c]).toBeCloseTo(spectrum[c]!, 9);
        // The residual W − U_r S_r V_rᵀ has the norm of the spectrum's tail (Eckart–Young).
        let res = 0;
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            let v = W[i * cols + j]!;
            for (let c = 0; c < r; c++) v -= U[i * r + c]! * S[c]! * V[j * r + c]!;
            res += v * v;
          }
        }
        expect(Math.sqrt(res)).toBeCloseTo(Math.sqrt(spectrum.slice(r).reduce((a, s) => a + s * s, 0)), 9);
      });
    }
  }
  it('refuses a rank above the matrix', () => {
    expect(() => topSingular(new Float64Array(6), 2, 3, 3)).toThrow(/exceeds/);
  });
});
