/**
 * The exported GGUF files run in llama.cpp (node-llama-cpp 3.21.1, CPU build) and give tabtune's
 * numbers: for each model, tabtune (on WebGPU) generates 16 greedy tokens after a prompt, with
 * and without its adapter; llama.cpp evaluates the prompt plus that continuation (teacher
 * forcing) and, at every step, its argmax must be tabtune's token (so its greedy continuation is
 * the same 16 tokens) and the log-probability of tabtune's token must agree:
 *   f32 within 1e-2 (f32 KV cache; measured up to 5e-3 with random adapters that push logits up),
 *   f16 within 3e-2 (weights and KV cache in half precision), q8_0 within 0.3 (measured 0.16).
 * f16 may differ from tabtune's argmax only at a near tie (llama.cpp's own log-probs of the two
 * tokens within the f16 tolerance); q8_0 is checked on the log-probs only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { Session } from '../../src/core/session.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { DEMO, FIX, LLAMA3_ROPE_CONFIG, QWEN2_CONFIG, QWEN3_CONFIG, randomAdapter, randomModel, ROOT, tempDir, withChatTokenizer } from './gguf-models.ts';
import { testGpu } from './gpu-harness.ts';

const TOKENS = 16;
const TOLERANCE = { f32: 1e-2, f16: 3e-2, q8_0: 0.3 } as const;
type OutType = keyof typeof TOLERANCE;

interface Reference {
  readonly prompt: number[];
  readonly ids: number[];
  readonly logprobs: number[];
}

/** What each comparison measured, printed once (the figures the tolerances were set from). */
const measured: { gguf: string; lora: string | null; maxAbsLogprobDiff: number; sameGreedy: boolean }[] = [];

let llama: Llama;
beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')], { cwd: ROOT });
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  console.info(measured.map((m) => JSON.stringify(m)).join('\n'));
  await llama?.dispose();
});

function exportGguf(args: string[]): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/tabtune.mjs'), 'export', ...args, '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tabtune export ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!).out as string;
}

/** tabtune's greedy continuation and the log-prob of each chosen token. */
async function tabtuneGreedy(model: string, adapter: string | null, prompt: number[]): Promise<Reference> {
  const session = new Session(await testGpu());
  await session.loadModel(nodeFileTree(model));
  if (adapter) await session.loadAdapter(nodeFileTree(adapter));
  const g = await session.generate(prompt, { maxNewTokens: TOKENS, greedy: true, ignoreEos: true });
  session.unloadModel();
  return { prompt, ids: g.ids, logprobs: g.logprobs };
}

/** llama.cpp's argmax and log p(reference token) at each step of the reference continuation. */
interface Steps {
  readonly argmax: number[];
  /** llama.cpp's log p(tabtune's token) and log p(its own argmax) at each step. */
  readonly logprobs: number[];
  readonly topLogprobs: number[];
}

async function llamaSteps(gguf: string, lora: string | null, ref: Reference, exact: boolean): Promise<Steps> {
  const model = await llama.loadModel({ modelPath: gguf });
  try {
    const context = await model.createContext({
      contextSize: 256, sequences: 1,
      ...(exact ? { experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } : {}),
      ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
    });
    try {
      const input = [...ref.prompt, ...ref.ids.slice(0, -1)] as Token[];
      const first = ref.prompt.length - 1;
      const res = await context.getSequence().controlledEvaluate(input.map((t, i) => (i >= first ? [t, { generateNext: { probabilities: true } }] : t)));
      const steps: Steps = { argmax: [], logprobs: [], topLogprobs: [] };
      for (let i = 0; i < ref.ids.length; i++) {
        const probs = res[first + i]!.next.probabilities!;
        const [top, p] = probs.entries().next().value as [number, number];
        steps.argmax.push(top);
        steps.topLogprobs.push(Math.log(p));
        steps.logprobs.push(Math.log(probs.get(ref.ids[i]! as Token) ?? 0));
      }
      return steps;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

async function expectAgreement(type: OutType, gguf: string, lora: string | null, ref: Reference): Promise<void> {
  const got = await llamaSteps(gguf, lora, ref, type === 'f32');
  const err = Math.max(...got.logprobs.map((lp, i) => Math.abs(lp - ref.logprobs[i]!)));
  measured.push({ gguf: basename(gguf), lora: lora ? basename(lora) : null, maxAbsLogprobDiff: Number(err.toExponential(2)), sameGreedy: got.argmax.join() === ref.ids.join() });
  const what = `${gguf}${lora ? ` + ${lora}` : ''}`;
  if (type === 'f32') expect(got.argmax, `${what}: greedy tokens`).toEqual(ref.ids);
  if (type === 'f16') {
    // Where llama.cpp's argmax differs, tabtune's token must be a near tie in llama.cpp too.
    const ties = got.argmax.map((t, i) => (t === ref.ids[i] ? 0 : got.topLogprobs[i]! - got.logprobs[i]!));
    expect(Math.max(...ties), `${what}: greedy tokens ${got.argmax} vs ${ref.ids}`).toBeLessThan(TOLERANCE.f16);
  }
  expect(err, `${what}: max |Δ log p| over ${TOKENS} steps`).toBeLessThan(TOLERANCE[type]);
}

interface Case {
  readonly name: string;
  model(): string;
  adapter(model: string): string;
  readonly prompt: number[] | string;
}

const CASES: Case[] = [
  {
    name: 'demo model (Llama, bf16) with a random LoRA adapter',
    model: () => DEMO,
    adapter: (m) => randomAdapter(m, { model_type: 'llama', hidden_size: 256, intermediate_size: 704, num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 4096 }, { r: 8, alpha: 16, scale: 0.15, seed: 11 }),
    prompt: 'The President of the United States shall',
  },
  {
    name: 'tiny-llama fixture with its PEFT adapter',
    model: () => join(FIX, 'models/tiny-llama'),
    adapter: () => join(FIX, 'models/tiny-llama/adapter'),
    prompt: [274, 314, 240, 438, 86, 238],
  },
  {
    name: 'tiny-gpt2 fixture (Conv1D, learned positions) with its PEFT adapter',
    model: () => withChatTokenizer(join(FIX, 'models/tiny-gpt2')),
    adapter: () => join(FIX, 'models/tiny-gpt2/adapter'),
    prompt: [504, 110, 332, 297, 391, 95],
  },
  {
    name: 'Qwen2 (q/k/v biases, untied head) with an rsLoRA adapter',
    model: () => randomModel(QWEN2_CONFIG, 3),
    adapter: (m) => randomAdapter(m, QWEN2_CONFIG, { r: 4, alpha: 8, scale: 0.3, seed: 5, rslora: true }),
    prompt: [10, 200, 31, 7, 499],
  },
  {
    name: 'Qwen3 (q/k norms, head_dim 48 ≠ hidden/heads) with a LoRA adapter',
    model: () => randomModel(QWEN3_CONFIG, 6),
    adapter: (m) => randomAdapter(m, QWEN3_CONFIG, { r: 4, alpha: 8, scale: 0.3, seed: 7 }),
    prompt: [12, 150, 33, 8, 420, 61],
  },
  {
    name: 'Llama with llama3 RoPE scaling and attention biases, with a LoRA adapter',
    model: () => randomModel(LLAMA3_ROPE_CONFIG, 4),
    adapter: (m) => randomAdapter(m, LLAMA3_ROPE_CONFIG, { r: 4, alpha: 4, scale: 0.3, seed: 9 }),
    prompt: [3, 77, 140, 260, 11, 400, 90, 17, 33, 250, 18, 64, 5, 300, 101, 222, 48],
  },
];

describe('GGUF export runs in llama.cpp with tabtune\'s numbers', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const model = c.model();
      const adapter = c.adapter(model);
      const prompt = typeof c.prompt === 'string' ? (await Tokenizer.fromTree(nodeFileTree(model))).encode(c.prompt) : c.prompt;
      const base = await tabtuneGreedy(model, null, prompt);
      const tuned = await tabtuneGreedy(model, adapter, prompt);
      expect(tuned.ids, 'the adapter changes the continuation').not.toEqual(base.ids);
      const out = tempDir('gguf');
      const file = (name: string) => join(out, name);
      const gguf = (type: OutType, withAdapter: boolean) =>
        exportGguf(['--model', model, ...(withAdapter ? ['--adapter', adapter] : []), '--out', file(`${withAdapter ? 'merged' : 'base'}-${type}.gguf`), '--type', type]);
      const lora = (type: OutType) => exportGguf(['--format', 'gguf-lora', '--model', model, '--adapter', adapter, '--out', file(`lora-${type}.gguf`), '--type', type]);

      const baseF32 = gguf('f32', false);
      await expectAgreement('f32', baseF32, null, base);
      for (const type of ['f32', 'f16', 'q8_0'] as const) await expectAgreement(type, gguf(type, true), null, tuned);
      await expectAgreement('f32', baseF32, lora('f32'), tuned);
      await expectAgreement('f16', gguf('f16', false), lora('f16'), tuned);
      await expectAgreement('q8_0', gguf('q8_0', false), lora('q8_0'), tuned);
    }, 900_000); // 8 exports and 8 llama.cpp loads; a shared 2-core machine needs minutes
  }
});
