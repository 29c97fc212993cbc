import actCode from '../../../shaders/matmul_act.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { Activation } from './activation.ts';
import { lowRankBindings, withLowRank, type LowRankEpilogue } from './matmul-lowrank.ts';

/**
 * The MLP's activation fused into a matmul's store (matmul_act.wgsl). Forward, on the up
 * projection: C keeps the pre-activation and `y` receives act(C). Backward, on the down
 * projection's input gradient: C receives the gradient of the pre-activation, from `y` the saved
 * pre-activation (SwiGLU, GeGLU: gate|up, C the [rows, 2·width] gradient of both halves).
 */
/** The gated MLPs: SwiGLU (Llama, Qwen) and GeGLU (Gemma). */
export type GatedActivation = 'swiglu' | 'geglu';

export type ActivationEpilogue =
  | { readonly kind: 'forward'; readonly act: Activation; readonly y: Tensor; readonly ldy: number }
  | { readonly kind: 'backward'; readonly act: Activation | GatedActivation; readonly y: Tensor; readonly ldy: number; readonly width?: number };

/** What a matmul adds as it stores C: fused LoRA products, then an activation. */
export interface MatmulEpilogue {
  readonly lowRank?: LowRankEpilogue;
  readonly activation?: ActivationEpilogue;
}

const STORE = /c\[idx\] = ([^;]+);/g;
const specs = new Map<string, KernelSpec>();

function withActivation(spec: KernelSpec): KernelSpec {
  const key = `${spec.name}|${spec.entry}`;
  let fused = specs.get(key);
  if (!fused) {
    const stores = spec.code.match(STORE)?.length ?? 0;
    if (stores !== 1) throw new Error(`${spec.name}: the activation epilogue needs exactly one store of C, found ${stores}`);
    const next = spec.bindings.length;
    const tail = actCode.replaceAll('binding(ACT_BINDING_Y)', `binding(${next + 1})`).replaceAll('binding(ACT_BINDING)', `binding(${next})`);
    const code = `${spec.code.replace(STORE, 'actStore(idx, m, n, $1);')}\n${tail}`;
    fused = { ...spec, name: `${spec.name}_act`, code, bindings: [...spec.bindings, 'uniform', 'rw'] };
    specs.set(key, fused);
  }
  return fused;
}

const MODES = { 'forward gelu_new': 0, 'forward silu': 1, 'backward gelu_new': 2, 'backward silu': 3, 'backward swiglu': 4, 'backward geglu': 5 } as const;

function activationBindings(gpu: Gpu, e: ActivationEpilogue): (GPUBufferBinding | GPUBuffer)[] {
  const mode = MODES[`${e.kind} ${e.act}` as keyof typeof MODES];
  const width = e.kind === 'backward' ? e.width ?? 0 : 0;
  if (e.kind === 'backward' && (e.act === 'swiglu' || e.act === 'geglu') && !width) throw new Error(`the ${e.act} backward epilogue needs the gate width`);
  return [gpu.uniforms.alloc(packParams([[mode, 'u32'], [width, 'u32'], [e.y.offset, 'u32'], [e.ldy, 'u32']])), e.y.buffer];
}

type Binding = GPUBufferBinding | GPUBuffer;

/** The kernel and bindings of a dispatch with its epilogues spliced in (none: unchanged). */
export function withEpilogue(gpu: Gpu, spec: KernelSpec, bindings: readonly Binding[], e: MatmulEpilogue | undefined) {
  let s = spec;
  let b = [...bindings];
  if (e?.lowRank) {
    s = withLowRank(s);
    b = [...b, ...lowRankBindings(gpu, e.lowRank)];
  }
  if (e?.activation) {
    s = withActivation(s);
    b = [...b, ...activationBindings(gpu, e.activation)];
  }
  return { spec: s, bindings: b };
}
