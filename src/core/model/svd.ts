import { Rng } from '../rng.ts';

/** The leading singular triplets of a matrix: U [rows, k], S [k] (descending), V [cols, k], row-major. */
export interface Singular {
  readonly k: number;
  readonly U: Float64Array;
  readonly S: Float64Array;
  readonly V: Float64Array;
}

/** Eigen-decomposition of a symmetric n×n matrix by cyclic Jacobi rotations: values descending, vectors as columns. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const E = new Float64Array(n * n);
  for (let i = 0; i < n; i++) E[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += A[i * n + i]! ** 2;
      for (let j = i + 1; j < n; j++) off += A[i * n + j]! ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const ekp = E[k * n + p]!;
          const ekq = E[k * n + q]!;
          E[k * n + p] = c * ekp - s * ekq;
          E[k * n + q] = s * ekp + c * ekq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => A[y * n + y]! - A[x * n + x]!);
  const values = Float64Array.from(order, (i) => A[i * n + i]!);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) vectors[i * n + k] = E[i * n + order[k]!]!;
  return { values, vectors };
}

/** Top-k SVD of M [m, n] with m ≤ n from the eigenvectors of M·Mᵀ (float64). */
function svdWide(M: Float64Array, m: number, n: number, k: number): Singular {
  const G = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += M[i * n + c]! * M[j * n + c]!;
      G[i * m + j] = s;
      G[j * m + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(G, m);
  const U = new Float64Array(m * k);
  const S = new Float64Array(k);
  const V = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    S[c] = Math.sqrt(Math.max(0, values[c]!));
    for (let i = 0; i < m; i++) U[i * k + c] = vectors[i * m + c]!;
    // v = Mᵀu / σ
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += M[i * n + j]! * U[i * k + c]!;
      V[j * k + c] = S[c]! > 0 ? s / S[c]! : 0;
    }
  }
  return { k, U, S, V };
}

const transpose = (M: Float64Array, m: number, n: number): Float64Array => {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = M[i * n + j]!;
  return T;
};

/** Orthonormal columns of Y [m, q] in place (modified Gram-Schmidt, twice for stability). */
function orthonormalize(Y: Float64Array, m: number, q: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < q; c++) {
      for (let p = 0; p < c; p++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += Y[i * q + c]! * Y[i * q + p]!;
        for (let i = 0; i < m; i++) Y[i * q + c] -= d * Y[i * q + p]!;
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += Y[i * q + c]! ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < m; i++) Y[i * q + c] = norm > 0 ? Y[i * q + c]! / norm : 0;
    }
  }
}

/** C [m, q] = A [m, n] · B [n, q], or Aᵀ·B when `transA` (A stored [n, m]). */
function mul(A: Float64Array, B: Float64Array, m: number, n: number, q: number, transA = false): Float64Array {
  const C = new Float64Array(m * q);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < n; k++) {
      const a = transA ? A[k * m + i]! : A[i * n + k]!;
      if (a === 0) continue;
      for (let j = 0; j < q; j++) C[i * q + j] += a * B[k * q + j]!;
    }
  }
  return C;
}

/**
 * The top-k singular triplets of W [rows, cols]. niter undefined: exact (the eigenvectors of the
 * smaller Gram matrix, as torch.linalg.svd for PEFT's "pissa"). niter = N: randomized subspace
 * iteration with N power iterations on a seeded (k + 10)-column sketch (PEFT's "pissa_niter_N"
 * uses torch.svd_lowrank the same way).
 */
export function topSingular(W: Float64Array, rows: number, cols: number, k: number, niter?: number, seed = 0): Singular {
  if (k > Math.min(rows, cols)) throw new RangeError(`rank ${k} exceeds the matrix's ${rows}×${cols}`);
  if (niter === undefined) {
    if (rows <= cols) return svdWide(W, rows, cols, k);
    const t = svdWide(transpose(W, rows, cols), cols, rows, k);
    return { k, U: t.V, S: t.S, V: t.U };
  }
  const q = Math.min(k + 10, rows, cols);
  const rng = new Rng(seed);
  const omega = Float64Array.from({ length: cols * q }, () => rng.next() * 2 - 1);
  let Q = mul(W, omega, rows, cols, q);
  orthonormalize(Q, rows, q);
  for (let it = 0; it < niter; it++) {
    const Z = mul(W, Q, cols, rows, q, true);
    orthonormalize(Z, cols, q);
    Q = mul(W, Z, rows, cols, q);
    orthonormalize(Q, rows, q);
  }
  const small = mul(Q, W, q, rows, cols, true); // Qᵀ W [q, cols]
  const s = svdWide(small, q, cols, k);
  return { k, U: mul(Q, s.U, rows, q, k), S: s.S, V: s.V };
}
