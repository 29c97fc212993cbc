import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, SafetensorsModel } from '../../src/core/formats/safetensors.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter, readPeftAdapter } from '../../src/core/model/lora.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';
import { argmax, mcRequests, runMultipleChoice } from '../../src/core/eval/multiple-choice.ts';
import { parseMcFile } from '../../src/core/eval/mc-records.ts';
import { nodeFileSource, nodeFileTree } from '../../src/platform/node-files.ts';
import { referenceLogits } from '../reference/transformer-ref.ts';
import { testGpu } from './gpu-harness.ts';

const HF = join(__dirname, '../fixtures/hf');

// Odd shapes on purpose: one choice, many choices, non-ASCII text, an ARC-style record.
const RECORDS = [
  { question: 'What is the capital of France?', choices: ['Paris', 'Berlin', 'Madrid', 'a river'], answer: 0 },
  { question: 'Pick one', choices: ['only'], answer: 0 },
  { query: 'Ünïcödé café — naïve?', endings: ['oui', 'non', 'peut-être'], label: '2' },
  { question: 'Which is larger, 17 or 71?', choices: { text: ['17', '71'], label: ['A', 'B'] }, answerKey: 'B' },
  { question: 'Colours', choices: ['red', 'green', 'blue', 'yellow', 'black', 'white', 'orange'], answer: 4 },
  { question: 'Say', choices: ['', ' spaced ', 'x'], answer: 1 },
].map((r) => JSON.stringify(r)).join('\n');

function logSoftmaxAt(logits: Float64Array, V: number, t: number, id: number): number {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]!);
  let z = 0;
  for (let v = 0; v < V; v++) z += Math.exp(logits[t * V + v]! - m);
  return logits[t * V + id]! - m - Math.log(z);
}

/** Float64 weights; with an adapter, W + (alpha/r)·B·A merged in (Llama-style [out, in] weights). */
async function float64Weights(dir: string, adapterDir?: string): Promise<Map<string, Float64Array>> {
  const st = await SafetensorsModel.open(nodeFileTree(dir));
  const w = new Map<string, Float64Array>();
  for (const n of st.names()) w.set(n, Float64Array.from(await st.readF32(n)));
  if (!adapterDir) return w;
  const cfg = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
  const scale = cfg.lora_alpha / cfg.r;
  const ad = await SafetensorsFile.open(await nodeFileSource(join(adapterDir, 'adapter_model.safetensors')));
  for (const n of ad.names().filter((k) => k.includes('lora_A'))) {
    const target = n.replace('base_model.model.', '').replace('.lora_A.weight', '.weight');
    const A = await ad.readF32(n);
    const B = await ad.readF32(n.replace('lora_A', 'lora_B'));
    const W = w.get(target)!;
    const r = cfg.r as number;
    const inF = A.length / r;
    const outF = B.length / r;
    expect(W.length).toBe(inF * outF);
    for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += B[o * r + k]! * A[k * inF + i]!;
      W[o * inF + i]! += scale * s;
    }
  }
  return w;
}

/** Σ log p(continuation | context) per sequence, one float64 forward each. */
function referenceScores(cfg: ModelConfig, w: Map<string, Float64Array>, seqs: { inputIds: readonly number[]; labels: readonly number[] }[]): number[] {
  return seqs.map((s) => {
    const logits = referenceLogits(cfg, w, [...s.inputIds], s.inputIds.length);
    let sum = 0;
    for (let t = 0; t + 1 < s.inputIds.length; t++) if (s.labels[t + 1]! >= 0) sum += logSoftmaxAt(logits, cfg.vocabSize, t, s.labels[t + 1]!);
    return sum;
  });
}

describe('multiple choice by log-likelihood against a float64 reference', () => {
  const cases = [
    { name: 'tiny-gpt2', dir: join(HF, 'models/tiny-gpt2'), adapter: undefined },
    { name: 'tiny-llama', dir: join(HF, 'models/tiny-llama'), adapter: undefined },
    { name: 'tiny-llama + LoRA adapter', dir: join(HF, 'models/tiny-llama'), adapter: join(HF, 'models/tiny-llama/adapter') },
  ];
  for (const c of cases) {
    it(`${c.name}: per-choice log-probs within 1e-4 relative, same acc and acc_norm`, async () => {
      const gpu = await testGpu();
      const tok = await Tokenizer.fromTree(nodeFileTree(join(HF, 'tokenizers/bpe512-chat')));
      const model = await loadTransformer(gpu, nodeFileTree(c.dir));
      if (c.adapter) model.lora = await LoraAdapter.load(gpu, model.cfg, await readPeftAdapter(model.cfg, nodeFileTree(c.adapter)));
      const records = parseMcFile(RECORDS, 'mc.jsonl');
      // Small rows and batches: several sequences share a row and several forwards are needed.
      const got = await runMultipleChoice(model, tok, records, { batch: 2, rowTokens: 40 });
      const seqs = mcRequests(tok, records, { maxPositions: model.cfg.maxPositions });
      const want = referenceScores(model.cfg, await float64Weights(c.dir, c.adapter), seqs);
      let at = 0;
      let acc = 0;
      let accNorm = 0;
      for (const [i, q] of got.questions.entries()) {
        const ref = records[i]!.choices.map(() => want[at++]!);
        q.choiceLogprobs.forEach((lp, k) => expect(Math.abs(lp - ref[k]!), `q${i} choice ${k}: ${lp} vs ${ref[k]}`).toBeLessThan(1e-4 * Math.abs(ref[k]!) + 1e-6));
        expect(q.pred).toBe(argmax(ref));
        expect(q.predNorm).toBe(argmax(ref.map((lp, k) => lp / (records[i]!.choices[k]!.length + 1))));
        acc += Number(argmax(ref) === records[i]!.answer);
        accNorm += Number(q.predNorm === records[i]!.answer);
      }
      expect(at).toBe(want.length);
      expect(got.summary.n).toBe(6);
      expect(got.summary.acc).toBeCloseTo(acc / 6, 12);
      expect(got.summary.accNorm).toBeCloseTo(accNorm / 6, 12);
      model.lora?.destroy();
      model.destroy();
    }, 300_000);
  }
});
