import { describe, expect, it } from 'vitest';
import { forwardStep } from './step-forward.ts';
import { fileURLToPath } from 'node:url';
import { memoryTree } from '../../src/core/formats/bytes.ts';
import { loraScaling, resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsModel } from '../../src/core/formats/safetensors.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { AdapterGate, gateBias, gateWeight } from '../../src/core/model/adapter-gate.ts';
import { readGateConfig, readGateWeights, gateFiles } from '../../src/core/model/adapter-gate-files.ts';
import { checkGateAdapters, type GateAdapter } from '../../src/core/model/adapter-gate-stack.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter, type LoraSettings, type PeftAdapterFiles } from '../../src/core/model/lora.ts';
import { meanLoss, trainGate } from '../../src/core/train/adapter-gate-train.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { gatedLogits, type RefAdapter } from '../reference/adapter-gate-ref.ts';
import { meanNextTokenLoss } from '../reference/next-token-loss.ts';
import { expectInputError } from '../unit/expect-input-error.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';

const TINY_LLAMA = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

/** Odd shapes: 5 query heads on 1 KV head, q/k/v biases, an untied head. */
const QWEN2_ODD = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 40, intermediate_size: 72, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 203, max_position_embeddings: 64, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.2,
};

/** A PEFT adapter in memory with random A and B (B non-zero, so the adapter changes the model). */
function randomAdapter(cfg: ModelConfig, settings: LoraSettings, seed: number): PeftAdapterFiles {
  const { specs } = LoraAdapter.layout(cfg, settings);
  const values = new Map(specs.map((s, i) => [s.name, randomArray(s.shape[0]! * s.shape[1]!, seed * 1000 + i, 0.3)]));
  return { settings, values };
}

/** K = 3 adapters of different ranks, targets and scalings (one rsLoRA). */
function threeAdapters(cfg: ModelConfig): GateAdapter[] {
  const t = (x: string[] | 'all-linear') => resolveTargets(cfg.arch, x);
  return [
    { name: 'wide', files: randomAdapter(cfg, { r: 2, alpha: 4, dropout: 0, rslora: false, targets: t('all-linear') }, 1), baseModel: 'm' },
    { name: 'qvd', files: randomAdapter(cfg, { r: 3, alpha: 5, dropout: 0, rslora: true, targets: t(['q_proj', 'v_proj', 'down_proj']) }, 2), baseModel: null },
    { name: 'ou', files: randomAdapter(cfg, { r: 1, alpha: 2, dropout: 0, rslora: false, targets: t(['o_proj', 'up_proj']) }, 3), baseModel: 'm' },
  ];
}

const CASES: [string, () => string][] = [['tiny-llama fixture', () => TINY_LLAMA], ['random Qwen2 with odd shapes and biases', () => writeRandomModel(QWEN2_ODD, 5)]];

describe('adapter gate against a float64 reference', () => {
  for (const [label, dirOf] of CASES) {
    it(`${label}: K=3 adapters of different ranks/targets: logits, W_g and b gradients by finite differences, export round trip`, async () => {
      const gpu = await testGpu();
      const dir = dirOf();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      const cfg = model.cfg;
      const st = await SafetensorsModel.open(nodeFileTree(dir));
      const base = new Map<string, Float64Array>();
      for (const n of st.names()) base.set(n, Float64Array.from(await st.readF32(n)));
      const adapters = threeAdapters(cfg);
      const refAdapters: RefAdapter[] = adapters.map((a) => {
        const s = a.files.settings;
        return { r: s.r, scaling: loraScaling(s.alpha, s.r, s.rslora), values: a.files.values };
      });
      const gate = await AdapterGate.create(gpu, cfg, adapters);
      expect(gate.R).toBe(6);
      const K = 3;
      const H = cfg.hidden;
      const W = Array.from({ length: cfg.layers }, (_, l) => Float64Array.from(randomArray(K * H, 40 + l, 0.6)));
      const b = Array.from({ length: cfg.layers }, (_, l) => Float64Array.from(randomArray(K, 50 + l, 0.5)));
      const upload = () => gate.setValues(new Map([
        ...W.map((w, l) => [gateWeight(l), Float32Array.from(w)] as const), ...b.map((v, l) => [gateBias(l), Float32Array.from(v)] as const),
      ]));
      upload();
      W.forEach((w) => w.forEach((v, i) => (w[i] = Math.fround(v))));
      b.forEach((w) => w.forEach((v, i) => (w[i] = Math.fround(v))));
      gate.attach(model);

      const [B, S] = [2, 7];
      const V = cfg.vocabSize;
      const ids = Array.from(randomArray(B * S, 17), (x) => Math.floor(((x + 1) / 2) * V));
      const labels = ids.map((id, i) => (i % S < 2 ? -100 : id));
      const refLoss = () => meanNextTokenLoss(gatedLogits(cfg, base, ids, S, refAdapters, { weight: W, bias: b }), labels, S, V);

      const got = await forwardStep(model, ids, labels, B, S);
      expect(relError(got.logits, gatedLogits(cfg, base, ids, S, refAdapters, { weight: W, bias: b }))).toBeLessThan(1e-4);
      // Hardware adapters fuse LoRA into the base matmul, which has no per-block gate scale: the gate must bypass it.
      gpu.tuning.fuse = true;
      const fused = await forwardStep(model, ids, labels, B, S);
      delete gpu.tuning.fuse;
      expect(Array.from(fused.logits)).toEqual(Array.from(got.logits));
      const loss0 = refLoss();
      expect(Math.abs(got.loss - loss0)).toBeLessThan(1e-4 * loss0);

      // The gate's gradients (adapters frozen: no LoRA gradients exist) against central differences in float64.
      expect(model.grads).toBeNull();
      await forwardStep(model, ids, labels, B, S, true);
      let checked = 0;
      for (let l = 0; l < cfg.layers; l++) {
        const gw = await readTensor(gpu, gate.grads.get(gateWeight(l)));
        const gb = await readTensor(gpu, gate.grads.get(gateBias(l)));
        const maxAbs = Math.max(...gw.map(Math.abs), ...gb.map(Math.abs));
        expect(maxAbs, `layer ${l}`).toBeGreaterThan(1e-4);
        const picks: [Float64Array, Float32Array, number][] = [
          ...[0, 1, H + 3, K * H - 1].map((i) => [W[l]!, gw, i] as [Float64Array, Float32Array, number]),
          ...[0, 1, 2].map((i) => [b[l]!, gb, i] as [Float64Array, Float32Array, number]),
        ];
        for (const [values, g, i] of picks) {
          const h = 1e-5;
          const saved = values[i]!;
          values[i] = saved + h;
          const up = refLoss();
          values[i] = saved - h;
          const down = refLoss();
          values[i] = saved;
          const fd = (up - down) / (2 * h);
          expect(Math.abs(g[i]! - fd), `layer ${l} ${values === b[l] ? 'b' : 'W'}[${i}] gpu ${g[i]} fd ${fd}`).toBeLessThan(2e-3 * maxAbs);
          checked++;
        }
      }
      expect(checked).toBe(7 * cfg.layers);

      // Export → load → identical logits.
      const files = await gateFiles(gate, ['/a/wide', '/a/qvd', null], 'm');
      const tree = memoryTree('gate', files);
      const config = await readGateConfig(tree, cfg);
      expect(config.adapters.map((a) => a.name)).toEqual(['wide', 'qvd', 'ou']);
      const again = await AdapterGate.create(gpu, cfg, adapters);
      again.setValues(await readGateWeights(tree, config));
      gate.detach(model);
      again.attach(model);
      expect((await forwardStep(model, ids, labels, B, S)).logits).toEqual(got.logits);

      // A gate that puts all its weight on one adapter is that adapter alone.
      const oneHot = new Map([...Array.from({ length: cfg.layers }, (_, l) => [gateBias(l), Float32Array.of(-40, 40, -40)] as const),
        ...Array.from({ length: cfg.layers }, (_, l) => [gateWeight(l), new Float32Array(K * H)] as const)]);
      again.setValues(oneHot);
      const gated = await forwardStep(model, ids, labels, B, S);
      again.detach(model);
      model.lora = await LoraAdapter.load(gpu, cfg, adapters[1]!.files);
      expect(relError(gated.logits, (await forwardStep(model, ids, labels, B, S)).logits)).toBeLessThan(1e-5);
      gate.destroy();
      again.destroy();
      model.destroy();
    });
  }

  it('training moves only the gate: adapters and base weights stay bit-identical, the loss falls', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(TINY_LLAMA));
    const gate = await AdapterGate.create(gpu, model.cfg, threeAdapters(model.cfg).slice(0, 2));
    gate.attach(model);
    const snapshot = async (store: typeof gate.params) => Promise.all(store.buffers.map((b) => gpu.readF32(b)));
    const adaptersBefore = await snapshot(gate.stacked.store);
    const baseBefore = await snapshot(model.weights.store);
    const S = 9;
    const rows = [0, 1, 2].map((k) => {
      const ids = Array.from(randomArray(S, 70 + k), (x) => Math.floor(((x + 1) / 2) * model.cfg.vocabSize));
      return { inputIds: ids, labels: ids };
    });
    const before = await meanLoss(model, rows, S);
    const losses = await trainGate(model, gate, rows, S, { steps: 6, batch: 3, lr: 0.1, weightDecay: 0, seed: 1 });
    expect(losses).toHaveLength(6);
    expect(losses[0]).toBeCloseTo(before, 4);
    const after = await meanLoss(model, rows, S);
    expect(after).toBeLessThan(before);
    expect(await snapshot(gate.stacked.store)).toEqual(adaptersBefore);
    expect(await snapshot(model.weights.store)).toEqual(baseBefore);
    expect([...(await gate.values()).values()].some((v) => v.some((x) => x !== 0))).toBe(true);
    gate.detach(model);
    gate.destroy();
    model.destroy();
  });

  it('refuses DoRA adapters, adapters of different base models and a single adapter with one line each', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(TINY_LLAMA));
    const [a, b, c] = threeAdapters(model.cfg);
    const dora = { ...b!, files: { ...b!.files, settings: { ...b!.files.settings, dora: true } } };
    expectInputError(() => checkGateAdapters([a!, dora]), 'adapter "qvd"', undefined, /DoRA adapter; the adapter gate mixes plain LoRA adapters only/);
    expectInputError(() => checkGateAdapters([a!, { ...c!, baseModel: 'other' }]), 'adapter "ou"', undefined, /trained on "other" but adapter "wide" on "m"/);
    expectInputError(() => checkGateAdapters([a!]), '--adapter', undefined, /two or more adapters, got 1/);
    model.destroy();
  });
});
