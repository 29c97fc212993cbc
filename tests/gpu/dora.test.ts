import { describe, expect, it } from 'vitest';
import { forwardStep } from './step-forward.ts';
import { fileURLToPath } from 'node:url';
import { memoryTree } from '../../src/core/formats/bytes.ts';
import { linearModules, magnitudeKey, resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { mergeLora } from '../../src/core/model/merge.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { referenceLogits } from '../reference/transformer-ref.ts';
import { meanNextTokenLoss } from '../reference/next-token-loss.ts';
import { readWeights } from '../reference/weights-ref.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';

const TINY_LLAMA = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

/** Odd shapes: 5 query heads on 1 KV head (k/v have 8 outputs), q/k/v biases, an untied head. */
const QWEN2_ODD = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 40, intermediate_size: 72, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 203, max_position_embeddings: 64, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.2,
};

/** One adapted module in float64: base rows W0 [out, in], factors, magnitude. */
interface RefModule {
  readonly name: string;
  readonly key: string;
  readonly out: number;
  readonly in: number;
  readonly W0: Float64Array;
  A: Float64Array;
  B: Float64Array;
  M: Float64Array;
}

/** W0 + s·B·A, row-major [out, in]. */
function directionRows(m: RefModule, r: number, s: number): Float64Array {
  const w = Float64Array.from(m.W0);
  for (let j = 0; j < m.out; j++) {
    for (let i = 0; i < m.in; i++) {
      let d = 0;
      for (let k = 0; k < r; k++) d += m.B[j * r + k]! * m.A[k * m.in + i]!;
      w[j * m.in + i] += s * d;
    }
  }
  return w;
}

function rowNorms(w: Float64Array, out: number, inF: number): Float64Array {
  return Float64Array.from({ length: out }, (_, j) => Math.sqrt(w.subarray(j * inF, (j + 1) * inF).reduce((a, v) => a + v * v, 0)));
}

/** The base weights with each module's DoRA weight m/n·(W0 + s·B·A); n given (held fixed) or computed. */
function doraWeights(base: Map<string, Float64Array>, mods: RefModule[], r: number, s: number, fixedN?: Map<string, Float64Array>): Map<string, Float64Array> {
  const w = new Map(base);
  for (const m of mods) {
    const v = directionRows(m, r, s);
    const n = fixedN?.get(m.name) ?? rowNorms(v, m.out, m.in);
    for (let j = 0; j < m.out; j++) for (let i = 0; i < m.in; i++) v[j * m.in + i] *= m.M[j]! / n[j]!;
    w.set(m.key, v);
  }
  return w;
}

const referenceLoss = (cfg: ModelConfig, w: Map<string, Float64Array>, ids: number[], labels: number[], S: number) =>
  meanNextTokenLoss(referenceLogits(cfg, w, ids, S), labels, S, cfg.vocabSize);

async function write(gpu: Gpu, lora: LoraAdapter, name: string, v: ArrayLike<number>): Promise<void> {
  const t = lora.store.get(name);
  gpu.write(t.buffer, Float32Array.from(v), t.offset * 4);
}

const CASES: [string, () => string][] = [['tiny-llama fixture', () => TINY_LLAMA], ['random Qwen2 with odd shapes and biases', () => writeRandomModel(QWEN2_ODD, 9)]];

describe('DoRA against a float64 reference', () => {
  for (const [label, dirOf] of CASES) {
    it(`${label}: magnitude init, logits, gradients by finite differences, PEFT round trip, merge`, async () => {
      const gpu = await testGpu();
      const dir = dirOf();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      const cfg = model.cfg;
      const base = await readWeights(dir);
      const r = 3;
      const settings = { r, alpha: 6, dropout: 0, rslora: false, dora: true, targets: resolveTargets(cfg.arch, 'all-linear') };
      const lora = LoraAdapter.create(gpu, cfg, settings, 3);
      model.lora = lora;
      const s = lora.scaling;
      const mods: RefModule[] = lora.modules.map((m, i) => {
        const key = `model.layers.${m.layer}.${m.id}.weight`;
        const mod: RefModule = {
          name: `${m.layer}.${m.id}`, key, out: m.out, in: m.in, W0: base.get(key)!,
          A: Float64Array.from(randomArray(r * m.in, 300 + i, 0.3)), B: Float64Array.from(randomArray(m.out * r, 600 + i, 0.3)), M: new Float64Array(m.out),
        };
        expect(mod.W0, key).toBeDefined();
        return mod;
      });
      expect(linearModules(cfg.arch).length * cfg.layers).toBe(mods.length);
      for (const [i, m] of lora.modules.entries()) {
        await write(gpu, lora, m.a, mods[i]!.A);
        await write(gpu, lora, m.b, mods[i]!.B);
      }
      const [B, S] = [2, 11];
      const V = cfg.vocabSize;
      const ids = Array.from(randomArray(B * S, 17), (x) => Math.floor(((x + 1) / 2) * V));
      const labels = ids.map((id, i) => (i % S < 3 ? -100 : id));

      // The first forward sets m = ‖W0 + s·B·A‖ (per output row), so the model equals W0 + s·B·A.
      const first = await forwardStep(model, ids, labels, B, S);
      const n0 = new Map<string, Float64Array>();
      for (const [i, m] of lora.modules.entries()) {
        const n = rowNorms(directionRows(mods[i]!, r, s), m.out, m.in);
        n0.set(mods[i]!.name, n);
        expect(relError(await readTensor(gpu, lora.store.get(m.magnitude!)), n), `${mods[i]!.name} init`).toBeLessThan(1e-5);
        mods[i]!.M = Float64Array.from(n, (v, j) => v * (1 + 0.4 * randomArray(m.out, 900 + i)[j]!));
        await write(gpu, lora, m.magnitude!, mods[i]!.M);
        mods[i]!.M.forEach((v, j) => (mods[i]!.M[j] = Math.fround(v)));
      }
      expect(relError(first.logits, referenceLogits(cfg, doraWeights(base, mods.map((m) => ({ ...m, M: n0.get(m.name)! })), r, s), ids, S))).toBeLessThan(1e-4);

      // Trained magnitudes: logits and loss.
      const dora = await forwardStep(model, ids, labels, B, S);
      const wd = doraWeights(base, mods, r, s);
      expect(relError(dora.logits, referenceLogits(cfg, wd, ids, S))).toBeLessThan(1e-4);
      const refLoss = referenceLoss(cfg, wd, ids, labels, S);
      expect(Math.abs(dora.loss - refLoss)).toBeLessThan(1e-5 + 1e-4 * refLoss);

      // Gradients with the norm detached (PEFT): finite differences with n held at its value.
      model.setTrainable('lora');
      await forwardStep(model, ids, labels, B, S, true);
      let checked = 0;
      for (const pick of [0, 4, mods.length - 1]) {
        const m = lora.modules[pick]!;
        const ref = mods[pick]!;
        for (const [which, name] of [['A', m.a], ['B', m.b], ['M', m.magnitude!]] as const) {
          const g = await readTensor(gpu, model.grads!.get(name));
          const maxAbs = g.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          expect(maxAbs, `${ref.name} ${which}`).toBeGreaterThan(0);
          const values = ref[which];
          for (const k of [0, Math.floor(values.length / 2), values.length - 1]) {
            const h = 1e-5;
            const saved = values[k]!;
            values[k] = saved + h;
            const up = referenceLoss(cfg, doraWeights(base, mods, r, s, n0), ids, labels, S);
            values[k] = saved - h;
            const down = referenceLoss(cfg, doraWeights(base, mods, r, s, n0), ids, labels, S);
            values[k] = saved;
            const fd = (up - down) / (2 * h);
            expect(Math.abs(g[k]! - fd), `${ref.name} ${which}[${k}] gpu ${g[k]} fd ${fd}`).toBeLessThan(1e-3 * maxAbs);
            checked++;
          }
        }
      }
      expect(checked).toBe(27);

      // PEFT export: use_dora, magnitude keys as PEFT names them; loading it back gives identical logits.
      const files = await lora.save(gpu, null);
      const config = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as Record<string, unknown>;
      expect(config.use_dora).toBe(true);
      const saved = await SafetensorsFile.open((await memoryTree('adapter', files).open('adapter_model.safetensors'))!);
      const mk = magnitudeKey(cfg.arch, 1, 'mlp.down_proj');
      expect(mk).toBe('base_model.model.model.layers.1.mlp.down_proj.lora_magnitude_vector');
      expect(saved.info(mk)?.shape).toEqual([cfg.hidden]);
      expect(saved.names().length).toBe(3 * mods.length);
      const again = await loadTransformer(gpu, nodeFileTree(dir));
      again.lora = await LoraAdapter.load(gpu, cfg, memoryTree('adapter', files));
      expect((await forwardStep(again, ids, labels, B, S)).logits).toEqual(dora.logits);
      again.destroy();

      // Merge: W ← m/‖W + s·B·A‖·(W + s·B·A) gives the adapter's logits without it.
      model.setTrainable('none');
      await mergeLora(model);
      expect(model.lora).toBeNull();
      expect(relError((await forwardStep(model, ids, labels, B, S)).logits, dora.logits)).toBeLessThan(1e-5);
      model.destroy();
    });
  }
});
