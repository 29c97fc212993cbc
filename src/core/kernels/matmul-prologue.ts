import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';
import type { NormKind } from './norm.ts';

/**
 * A normed operand view: a matmul reads the norm's input x through the norm instead of a stored
 * norm(x). The transform is defined on STORAGE, element i of the operand array being x[row, col]
 * with row = (i − start) / ld and col = (i − start) % ld:
 *   value = (x − mean[row]) · rstd[row] · (γ[col] + offset) (+ β[col])
 * so it holds whether the kernel uses the matrix as A or B, transposed or not, scalar or vec4.
 * It is spliced into the kernel's WGSL: every read `a[e]` (or `b[e]`) becomes a call that applies it.
 */
export interface NormedOperand {
  readonly kind: NormKind;
  /** The norm's input: a [rows, ld] matrix starting at `x.offset` (a kernel's operand may be a column slice of it). */
  readonly x: Tensor;
  readonly ld: number;
  /** Per-row statistics as the norm forward saved them (rstd; mean, rstd for LayerNorm). */
  readonly stats: Tensor;
  readonly weight: Tensor;
  /** LayerNorm's β; it must share the weight's buffer (one binding for both). */
  readonly bias?: Tensor;
  /** RMSNorm multiplies by (offset + γ) (Gemma: 1). */
  readonly weightOffset?: number;
}

export type Operand = 'a' | 'b';

/** Storage bindings the view adds to a kernel (the statistics and the norm's parameters), besides its uniform. */
export const NORMED_STORAGE_BINDINGS = 2;

const PARAMS = `struct NvParams {
  start: u32, ld: u32, statOff: u32, pad3: u32,
  gOff: u32, bOff: u32, hasBias: u32, inv: f32,
  shift: f32, pad0: u32, pad1: u32, pad2: u32,
}`;

// Row and column of a storage index without integer division, which CPU drivers such as lavapipe
// split into one scalar division per lane at every inlined read (measured: the NF4 kernel's cold
// compile went from about 73 s to 49 s on a loaded machine). A float quotient is off by at most one
// below 2^22 rows; one correction each way makes it exact. Branch-free for the same reason.
function scalarLoad(side: Operand): string {
  return `fn nv_${side}(i: u32) -> f32 {
  let rel = i32(i - nvP_${side}.start);
  let ld = i32(nvP_${side}.ld);
  var r = i32(f32(rel) * nvP_${side}.inv);
  r -= select(0, 1, r * ld > rel);
  r += select(0, 1, rel - r * ld >= ld);
  return nv_${side}_at(nv_${side}_src[i], u32(r), u32(rel - r * ld));
}`;
}

// Each of the four elements finds its own row: a vec4 may straddle rows or start before the matrix.
function vec4Load(side: Operand): string {
  return `fn nv_${side}(i: u32) -> vec4f {
  let v = nv_${side}_src[i];
  let rel = vec4i(vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) - vec4u(nvP_${side}.start));
  let ld = vec4i(i32(nvP_${side}.ld));
  var r = vec4i(vec4f(rel) * nvP_${side}.inv);
  r -= select(vec4i(0), vec4i(1), r * ld > rel);
  r += select(vec4i(0), vec4i(1), rel - r * ld >= ld);
  let c = vec4u(rel - r * ld);
  let u = vec4u(r);
  return vec4f(nv_${side}_at(v.x, u.x, c.x), nv_${side}_at(v.y, u.y, c.y), nv_${side}_at(v.z, u.z, c.z), nv_${side}_at(v.w, u.w, c.w));
}`;
}

// Specialised per kind, as every load is inlined at each read: RMSNorm reads rstd and γ, LayerNorm also mean and β.
function transform(side: Operand, kind: NormKind): string {
  const P = `nvP_${side}`;
  const stats = `nv_${side}_stats`;
  const norm = `nv_${side}_norm`;
  if (kind === 'rmsnorm') {
    return `fn nv_${side}_at(x: f32, row: u32, col: u32) -> f32 {
  return x * ${stats}[${P}.statOff + row] * (${norm}[${P}.gOff + col] + ${P}.shift);
}`;
  }
  return `fn nv_${side}_at(x: f32, row: u32, col: u32) -> f32 {
  let s = ${P}.statOff + 2u * row;
  return (x - ${stats}[s]) * ${stats}[s + 1u] * ${norm}[${P}.gOff + col] + ${norm}[${P}.bOff + col] * f32(${P}.hasBias);
}`;
}

/** `code` with every read `side[...]` (not in a comment) replaced by `nv_side(...)`; brackets are matched, not pattern-guessed. */
export function wrapReads(code: string, side: Operand): { code: string; reads: number } {
  const src = code.replace(/\/\/[^\n]*/g, '');
  const head = new RegExp(`(?<![\\w.])${side}\\[`, 'g');
  let reads = 0;
  const rewrite = (s: string): string => {
    let out = '';
    let from = 0;
    head.lastIndex = 0;
    for (let m = head.exec(s); m; m = head.exec(s)) {
      let depth = 1;
      let j = m.index + m[0].length;
      for (; j < s.length && depth > 0; j++) depth += s[j] === '[' ? 1 : s[j] === ']' ? -1 : 0;
      if (depth !== 0) throw new Error(`unbalanced "${side}[" in a matmul kernel`);
      const inner = s.slice(m.index + m[0].length, j - 1);
      out += `${s.slice(from, m.index)}nv_${side}(${rewrite(inner)})`;
      reads++;
      from = j;
      head.lastIndex = j;
    }
    return out + s.slice(from);
  };
  return { code: rewrite(src), reads };
}

const specs = new Map<string, KernelSpec>();

/** `spec` with operand `side` read through the normed view; its bindings gain a uniform and two storage buffers. */
export function withNormedOperand(spec: KernelSpec, side: Operand, kind: NormKind): KernelSpec {
  const key = `${spec.name}|${spec.entry}|${side}|${kind}`;
  let fused = specs.get(key);
  if (!fused) {
    const decl = new RegExp(`(var<storage, read> )${side}(: array<(f32|vec4f)>;)`);
    const found = spec.code.match(decl);
    if (!found) throw new Error(`${spec.name}: no f32 or vec4f storage operand "${side}" to read through a norm`);
    const wrapped = wrapReads(spec.code.replace(decl, `$1nv_${side}_src$2`), side);
    if (wrapped.reads === 0) throw new Error(`${spec.name}: no read of "${side}" to wrap`);
    const next = spec.bindings.length;
    const structDecl = spec.code.includes('struct NvParams') ? '' : PARAMS;
    const tail = [
      structDecl,
      `@group(0) @binding(${next}) var<uniform> nvP_${side}: NvParams;`,
      `@group(0) @binding(${next + 1}) var<storage, read> nv_${side}_stats: array<f32>;`,
      `@group(0) @binding(${next + 2}) var<storage, read> nv_${side}_norm: array<f32>;`,
      transform(side, kind),
      found[3] === 'vec4f' ? vec4Load(side) : scalarLoad(side),
    ].join('\n');
    fused = { ...spec, name: `${spec.name}_${kind}_${side}`, code: `${wrapped.code}\n${tail}\n`, bindings: [...spec.bindings, 'uniform', 'read', 'read'] };
    specs.set(key, fused);
  }
  return fused;
}

type Binding = GPUBufferBinding | GPUBuffer;

/** The view's three bindings: its uniform, the statistics and the norm's parameters. */
export function normedBindings(gpu: Gpu, v: NormedOperand): Binding[] {
  if (v.bias && v.bias.buffer !== v.weight.buffer) throw new Error('a normed operand needs the norm weight and bias in one buffer');
  const layer = v.kind === 'layernorm';
  const rows = Math.ceil(numel(v.x.shape) / v.ld);
  if (rows >= 2 ** 22) throw new Error(`a normed operand holds at most 2^22 rows, got ${rows}`);
  const params = packParams([
    [v.x.offset, 'u32'], [v.ld, 'u32'], [v.stats.offset, 'u32'], [0, 'u32'],
    [v.weight.offset, 'u32'], [v.bias?.offset ?? 0, 'u32'], [v.bias ? 1 : 0, 'u32'], [1 / v.ld, 'f32'],
    [layer ? 0 : v.weightOffset ?? 0, 'f32'], [0, 'u32'], [0, 'u32'], [0, 'u32'],
  ]);
  return [gpu.uniforms.alloc(params), v.stats.buffer, v.weight.buffer];
}

/** The kernel and bindings of a dispatch with its normed operands spliced in (none: unchanged). */
export function withNormedOperands(
  gpu: Gpu, spec: KernelSpec, bindings: readonly Binding[], views: { readonly a?: NormedOperand; readonly b?: NormedOperand },
): { spec: KernelSpec; bindings: Binding[] } {
  if (!views.a && !views.b) return { spec, bindings: [...bindings] };
  let s = spec;
  let b = [...bindings];
  for (const side of ['a', 'b'] as const) {
    const v = views[side];
    if (!v) continue;
    s = withNormedOperand(s, side, v.kind);
    b = [...b, ...normedBindings(gpu, v)];
  }
  const storage = s.bindings.filter((x) => x !== 'uniform').length;
  if (storage > gpu.limits.maxStorageBuffersPerShaderStage) {
    throw new Error(`${s.name}: ${storage} storage buffers exceed this device's ${gpu.limits.maxStorageBuffersPerShaderStage}`);
  }
  return { spec: s, bindings: b };
}

/** Float64 reference: the dense [rows, cols] matrix the view presents, from CPU copies of x, stats, γ, β. */
export function normedRef(
  kind: NormKind, x: ArrayLike<number>, stats: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | null,
  rows: number, cols: number, ld: number, weightOffset = 0,
): Float64Array {
  const out = new Float64Array(rows * cols);
  const per = kind === 'layernorm' ? 2 : 1;
  for (let r = 0; r < rows; r++) {
    const mean = per === 2 ? stats[2 * r]! : 0;
    const rstd = stats[r * per + per - 1]!;
    for (let c = 0; c < cols; c++) out[r * cols + c] = (x[r * ld + c]! - mean) * rstd * (weight[c]! + weightOffset) + (bias ? bias[c]! : 0);
  }
  return out;
}
