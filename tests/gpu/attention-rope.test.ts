import { describe, expect, it } from 'vitest';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { Gpu } from '../../src/core/gpu/gpu.ts';
import { allocTensor, readTensor, tensorOf, uploadTensor } from '../../src/core/gpu/tensor.ts';
import { attentionBackward, attentionForward, attentionRef, ropeInAttention } from '../../src/core/kernels/attention.ts';
import { rope, ropeRef, ropeTable } from '../../src/core/kernels/rope.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { StepPlan, type Batch } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { Rng } from '../../src/core/rng.ts';
import { ropeAttentionSelfTest } from '../../src/core/selftest/rope-attention.ts';
import { runStep } from '../../src/core/train/step.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { backwardRef, boundsOf, split, type Case } from './attention-cases.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';
import { GEMMA3_TINY } from './tiny-configs.ts';

const MAX_POSITIONS = 80;
const invFreqOf = (hd: number) => Float64Array.from({ length: hd / 2 }, (_, i) => 1 / 100 ** ((2 * i) / hd));

/** Each token's position: restarts with each sequence and each packed example, as the step inputs do. */
function positionsOf(c: Case): Uint32Array {
  const pos = new Uint32Array(c.B * c.S);
  for (let t = 0; t < pos.length; t++) {
    const s = t % c.S;
    pos[t] = s === 0 || c.segments?.[s] !== c.segments?.[s - 1] ? 0 : pos[t - 1]! + 1;
  }
  return pos;
}

/**
 * Forward o, lse and backward d(q|k|v) with the tiled kernels, RoPE applied on load (`fused`) or
 * by the rope kernel before the forward and its inverse after the backward.
 */
async function run(gpu: Gpu, c: Case, qkv: Float32Array, dO: Float32Array, fused: boolean) {
  gpu.tuning.tiledAttention = true;
  const { S, H, KVH, hd } = c;
  const T = c.B * S;
  const W = (H + 2 * KVH) * hd;
  const { query, key } = boundsOf(c);
  // Views inside larger buffers, as in a model: q|k|v 8 elements in, positions 3 words in, the table 4 in.
  const qkvT = upload(gpu, Float32Array.from([...new Float32Array(8), ...qkv]));
  const view = (col: number) => ({ t: { ...qkvT, offset: 8 + col }, stride: W });
  const positions = { ...upload(gpu, Uint32Array.from([7, 7, 7, ...positionsOf(c)])), offset: 3 };
  const cosSin = ropeTable(invFreqOf(hd), MAX_POSITIONS);
  const table = { ...upload(gpu, Float32Array.from([0, 0, 0, 0, ...cosSin])), offset: 4 };
  const ropeArgs = { positions, table, maxPositions: MAX_POSITIONS };
  // The rope kernel reads its table from the buffer's start.
  const rotate = { T, heads: H + KVH, headDim: hd, rowStride: W, ...ropeArgs, table: upload(gpu, cosSin) };
  const o = allocTensor(gpu, [T * H * hd], 'scratch', 'o');
  const lse = allocTensor(gpu, [T * H], 'scratch', 'lse');
  const args = {
    T, Sq: S, Sk: S, heads: H, kvHeads: KVH, headDim: hd,
    q: view(0), k: view(H * hd), v: view((H + KVH) * hd), o: { t: o, stride: H * hd },
    lse, bounds: tensorOf(gpu.upload(query, 'scratch', 'bounds'), [T * 2]), ...(fused ? { rope: ropeArgs } : {}),
  };
  const gotO = await runAndRead(gpu, async (p) => {
    if (!fused) await rope(gpu, p, { ...rotate, x: view(0).t });
    await attentionForward(gpu, p, args);
  }, o);
  const gotLse = await readTensor(gpu, lse);
  const grad = allocTensor(gpu, [8 + T * W], 'scratch', 'grad');
  const gotGrad = await runAndRead(gpu, async (p) => {
    await attentionBackward(gpu, p, {
      ...args, dO: uploadTensor(gpu, dO, [dO.length], 'scratch', 'dO'),
      keyBounds: tensorOf(gpu.upload(key, 'scratch', 'kb'), [T * 2]),
      delta: allocTensor(gpu, [T * H], 'scratch', 'delta'), grad,
    });
    if (!fused) await rope(gpu, p, { ...rotate, x: { ...grad, offset: 8 } }, true);
  }, grad);
  delete gpu.tuning.tiledAttention;
  return { o: gotO, lse: gotLse, grad: gotGrad.subarray(8), query };
}

/** Float64: o = attention(rope(q), rope(k), v), and d(q|k|v) through the rotation (its transpose on dq, dk). */
function reference(c: Case, qkv: Float32Array, dO: Float32Array, query: Uint32Array) {
  const { H, KVH, hd } = c;
  const T = c.B * c.S;
  const W = (H + 2 * KVH) * hd;
  const [pos, inv] = [positionsOf(c), invFreqOf(hd)];
  const s = split(qkv, c);
  const [q, k] = [ropeRef(s.q, pos, inv, H, hd), ropeRef(s.k, pos, inv, KVH, hd)];
  const o = attentionRef(q, k, s.v, T, c.S, H, KVH, hd, query);
  const rotated = Float64Array.from(qkv);
  for (let t = 0; t < T; t++) {
    rotated.set(q.subarray(t * H * hd, (t + 1) * H * hd), t * W);
    rotated.set(k.subarray(t * KVH * hd, (t + 1) * KVH * hd), t * W + H * hd);
  }
  const grad = backwardRef(rotated, dO, c, query);
  const dq = ropeRef(split(grad, c).q, pos, inv, H, hd, -1);
  const dk = ropeRef(split(grad, c).k, pos, inv, KVH, hd, -1);
  for (let t = 0; t < T; t++) {
    grad.set(dq.subarray(t * H * hd, (t + 1) * H * hd), t * W);
    grad.set(dk.subarray(t * KVH * hd, (t + 1) * KVH * hd), t * W + H * hd);
  }
  return { o, grad };
}

describe('RoPE inside the tiled attention kernels', () => {
  const segments = (S: number, cuts: number[]) => Array.from({ length: S }, (_, s) => cuts.filter((c) => s >= c).length);
  // No head_dim 64: its fully unrolled variant costs about a minute of shader compilation on lavapipe; 8 and 24 unroll the same code.
  const cases: (Case & { name: string })[] = [
    { name: 'S 37, hd 8, GQA 4/2, two sequences of packed examples', B: 2, S: 37, H: 4, KVH: 2, hd: 8, window: 0, segments: segments(37, [10, 25]) },
    { name: 'S 70 (two query blocks), hd 24, GQA 3/1, window 9', B: 1, S: 70, H: 3, KVH: 1, hd: 24, window: 9, segments: null },
    { name: 'S 20, hd 72 (runtime-bound loops), MHA 2/2, packed', B: 1, S: 20, H: 2, KVH: 2, hd: 72, window: 0, segments: segments(20, [13]) },
  ];
  for (const c of cases) {
    it(`${c.name}: vs the rope kernel around the plain kernels, and vs float64`, async () => {
      const gpu = await testGpu();
      const T = c.B * c.S;
      const qkv = randomArray(T * (c.H + 2 * c.KVH) * c.hd, c.S + c.hd, 1.5);
      const dO = randomArray(T * c.H * c.hd, 3 + c.hd);
      const fused = await run(gpu, c, qkv, dO, true);
      const plain = await run(gpu, c, qkv, dO, false);
      const want = reference(c, qkv, dO, fused.query);
      expect(relError(fused.o, want.o)).toBeLessThan(1e-4);
      expect(relError(fused.grad, want.grad)).toBeLessThan(1e-4);
      expect(relError(fused.o, plain.o)).toBeLessThan(1e-5);
      expect(relError(fused.lse, plain.lse)).toBeLessThan(1e-5);
      expect(relError(fused.grad, plain.grad)).toBeLessThan(1e-5);
    });
  }

  it('is used where the tiled forward runs on the queries\' own keys, for head dims in vec4 halves', async () => {
    const real = await testGpu();
    const software = new Gpu(real.device, { ...real.adapter, software: true });
    const hardware = new Gpu(real.device, { ...real.adapter, software: false });
    expect([8, 12, 24, 64, 72, 128].map((hd) => ropeInAttention(software, hd, 16, 16))).toEqual([true, false, true, true, false, false]);
    expect([64, 128, 256].map((hd) => ropeInAttention(hardware, hd, 16, 16))).toEqual([true, true, true]);
    // Decoding a few tokens (per-row forward) or reading a KV cache keeps the rope pass.
    expect([ropeInAttention(hardware, 64, 4, 4), ropeInAttention(hardware, 64, 16, 32)]).toEqual([false, false]);
    hardware.tuning.ropeInAttention = false;
    expect(ropeInAttention(hardware, 64, 16, 16)).toBe(false);
  });

  it('is checked by the self-test page against float64', async () => {
    const r = await ropeAttentionSelfTest(await testGpu(), new Rng(3));
    expect(r?.name).toMatch(/RoPE on load/);
    expect(r!.relError).toBeLessThan(1e-4);
  });
});

/** Llama with llama3 rope scaling (folded into the table), head_dim 8, 6 heads on 2 KV heads. */
const LLAMA_TINY = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 48, intermediate_size: 40, num_hidden_layers: 2,
  num_attention_heads: 6, num_key_value_heads: 2, vocab_size: 101, max_position_embeddings: 64, rms_norm_eps: 1e-5,
  rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.2,
};

/** One LoRA training step's loss, adapter gradients and dispatch count, with RoPE in the attention or as passes. */
async function step(model: Transformer, fused: boolean, batch: Batch, S: number, checkpointing: boolean) {
  const gpu = model.gpu;
  gpu.tuning.ropeInAttention = fused;
  model.setTrainable('lora');
  const state = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: 2, seq: S, train: true, checkpointing }, state);
  try {
    const { loss } = await runStep(gpu, plan, null, state, [batch], 0, 7).done;
    const grads = new Map<string, Float32Array>();
    for (const n of model.lora!.modules.flatMap((m) => [m.a, m.b])) grads.set(n, await readTensor(gpu, model.grads!.get(n)));
    return { loss, grads, dispatches: plan.forward.dispatchCount + plan.backward!.dispatchCount };
  } finally {
    plan.destroy();
    state.destroy();
    model.setTrainable('none');
    delete gpu.tuning.ropeInAttention;
  }
}

describe('a training step with RoPE in the attention gives the numbers of the separate rope passes', () => {
  const models: [string, Record<string, unknown>, boolean][] = [
    ['random Llama (llama3 rope scaling, GQA, head_dim 8)', LLAMA_TINY, false],
    ['random Llama, gradient checkpointing (the recomputed forward too)', LLAMA_TINY, true],
    ['random Gemma 3 (q/k norms, sliding and global rope tables, head_dim 24)', GEMMA3_TINY, false],
  ];
  for (const [label, config, checkpointing] of models) {
    it(label, async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(writeRandomModel(config, 4)));
      try {
        const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
        model.lora = LoraAdapter.create(gpu, model.cfg, { r: 3, alpha: 5, dropout: 0, rslora: false, targets }, 4);
        model.lora.modules.forEach((m, i) => {
          const t = model.lora!.store.get(m.b);
          gpu.write(t.buffer, randomArray(m.out * 3, 50 + i, 0.3), t.offset * 4);
        });
        const S = 11;
        expect(ropeInAttention(gpu, model.d.headDim, S, S), 'this adapter runs RoPE in the tiled kernels').toBe(true);
        // Row 0 packs two examples (positions restart at token 6), row 1 has 4 padding tokens.
        const ids = Array.from({ length: 2 * S }, (_, i) => (i * 37 + 5) % model.cfg.vocabSize);
        const batch: Batch = {
          ids, labels: ids.map((v, i) => (i === 3 ? -100 : v)), segments: ids.map((_, i) => (i >= 6 && i < S ? 1 : 0)), lengths: [S, 7],
        };
        const plain = await step(model, false, batch, S, checkpointing);
        const fused = await step(model, true, batch, S, checkpointing);
        expect(Math.abs(fused.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-5);
        for (const [name, want] of plain.grads) {
          expect(want.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
          expect(relError(fused.grads.get(name)!, want), name).toBeLessThan(2e-5);
        }
        // Gone per layer: the forward's rope pass (twice with recomputation) and the backward's inverse.
        expect(plain.dispatches - fused.dispatches).toBe((checkpointing ? 3 : 2) * model.cfg.layers);
      } finally {
        model.destroy();
      }
    });
  }
});
