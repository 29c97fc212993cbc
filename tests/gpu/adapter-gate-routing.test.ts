/**
 * The routing the playground shows (train/adapter-gate-routing.ts): the mean gate weight per adapter
 * over the layers and the positions that chose the answer's tokens, against the float64 reference
 * of the gated model; reading it leaves the gate and the model as they were.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loraScaling, resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsModel } from '../../src/core/formats/safetensors.ts';
import { AdapterGate, gateBias, gateWeight } from '../../src/core/model/adapter-gate.ts';
import type { GateAdapter } from '../../src/core/model/adapter-gate-stack.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter, type LoraSettings } from '../../src/core/model/lora.ts';
import { gateRouting } from '../../src/core/train/adapter-gate-routing.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { gatedLogits, type RefAdapter } from '../reference/adapter-gate-ref.ts';
import { randomArray, testGpu } from './gpu-harness.ts';

const TINY_LLAMA = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

describe('adapter gate routing', () => {
  it('matches the float64 reference over the answer positions, and leaves the gate as it was', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(TINY_LLAMA));
    const cfg = model.cfg;
    const st = await SafetensorsModel.open(nodeFileTree(TINY_LLAMA));
    const base = new Map<string, Float64Array>();
    for (const n of st.names()) base.set(n, Float64Array.from(await st.readF32(n)));
    const adapter = (name: string, settings: LoraSettings, seed: number): GateAdapter => {
      const { specs } = LoraAdapter.layout(cfg, settings);
      const values = new Map(specs.map((s, i) => [s.name, randomArray(s.shape[0]! * s.shape[1]!, seed * 1000 + i, 0.3)]));
      return { name, files: { settings, values }, baseModel: null };
    };
    const adapters = [
      adapter('a', { r: 3, alpha: 6, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, 'all-linear') }, 1),
      adapter('b', { r: 2, alpha: 2, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, ['q_proj', 'v_proj']) }, 2),
      adapter('c', { r: 1, alpha: 4, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, ['down_proj']) }, 3),
    ];
    const K = adapters.length;
    const H = cfg.hidden;
    const W = Array.from({ length: cfg.layers }, (_, l) => Float32Array.from(randomArray(K * H, 60 + l, 0.8)));
    const b = Array.from({ length: cfg.layers }, (_, l) => Float32Array.from(randomArray(K, 70 + l, 0.5)));
    const gate = await AdapterGate.create(gpu, cfg, adapters);
    gate.setValues(new Map([...W.map((w, l) => [gateWeight(l), w] as const), ...b.map((v, l) => [gateBias(l), v] as const)]));
    gate.attach(model);

    const prompt = [1, 17, 230, 45, 9];
    const answer = [301, 12, 77, 2];
    const routing = await gateRouting(model, gate, prompt, answer);

    const ids = [...prompt, ...answer.slice(0, -1)];
    const refAdapters: RefAdapter[] = adapters.map((a) => {
      const s = a.files.settings;
      return { r: s.r, scaling: loraScaling(s.alpha, s.r, s.rslora), values: a.files.values };
    });
    const sums = new Float64Array(K);
    gatedLogits(cfg, base, ids, ids.length, refAdapters, { weight: W, bias: b }, (_, g) => {
      for (let t = prompt.length - 1; t < ids.length; t++) for (let k = 0; k < K; k++) sums[k] += g[t * K + k]!;
    });
    const want = [...sums].map((s) => s / (cfg.layers * answer.length));
    expect(routing.length).toBe(K);
    routing.forEach((w, k) => expect(Math.abs(w - want[k]!), `adapter ${k}: ${w} vs ${want[k]}`).toBeLessThan(1e-5));
    // Not the even mixture: the random gate prefers some adapters.
    expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.05);
    expect(gate.probe).toBeNull();
    expect(await gateRouting(model, gate, prompt, answer)).toEqual(routing);
    gate.detach(model);
    gate.destroy();
    model.destroy();
  });
});
