import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { grpoJobStrategy, type GrpoJobSpec } from '../../src/core/pipeline/grpo-strategy.ts';
import { grpoOptions } from '../../src/core/train/preference/grpo-loss.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { loadRewardSource } from '../../src/platform/node-reward-sandbox.ts';

const DEMO = fileURLToPath(new URL('../../public/models/demo-base/', import.meta.url));

/**
 * The core entry point the app's Worker uses for GRPO: a TrainJob spec with the prompts file and
 * the reward source as strings, the host's sandbox loading the source (node:vm here).
 */
describe('GRPO as a TrainJob strategy', () => {
  it('tokenizes the prompts, loads the rewards from source, and describes the run for the manifest', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(DEMO));
    const text = [
      JSON.stringify({ prompt: 'Mali is in Africa.\nQuestion: Which region is Mali in?', answer: 'Africa' }),
      JSON.stringify({ prompt: [{ role: 'user', content: 'Peru is in South America.\nQuestion: Which region is Peru in?' }], answer: 'South America' }),
      JSON.stringify({ prompt: '' }),
    ].join('\n');
    const spec: GrpoJobSpec = {
      method: 'grpo',
      options: grpoOptions({ generations: 3, maxCompletionLength: 5, beta: 0.04 }),
      reward: { name: 'exact.js', source: 'module.exports = { exact: (p, c, f) => (c.includes(f.answer) ? 1 : 0) };' },
      data: { name: 'prompts.jsonl', text },
    };
    const { strategy, prompts, problems } = await grpoJobStrategy(spec, tok, (name, source) => loadRewardSource(name, source, { timeoutMs: 1000 }), {
      batch: 2, padId: 0, stopTokens: [0],
    });
    expect(prompts).toBe(2);
    expect(problems.map((p) => `${p.source.line}: ${p.reason}`)).toEqual(['3: "prompt" is empty']);
    const chatIds = tok.encode(tok.applyChatTemplate([{ role: 'user', content: 'Peru is in South America.\nQuestion: Which region is Peru in?' }],
      { addGenerationPrompt: true }));
    const textIds = tok.encode('Mali is in Africa.\nQuestion: Which region is Mali in?', { addSpecialTokens: true });
    expect(strategy.rows.seq).toBe(Math.max(chatIds.length, textIds.length) + 5);
    expect(strategy.rows.train).toHaveLength(6);
    expect(strategy.rows.train[3]!.inputIds.slice(0, chatIds.length)).toEqual(chatIds);
    expect(strategy.rows.train.every((r) => r.labels.every((l) => l === -100))).toBe(true);
    expect(strategy.describe).toMatchObject({
      format: 'prompt-only',
      options: { method: 'grpo', generations: 3, beta: 0.04, maxCompletionLength: 5, rewardSource: 'exact.js', rewardFunctions: ['exact'] },
    });
  });

  it('a reward source that does not load is refused before any work, naming it', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(DEMO));
    const spec: GrpoJobSpec = {
      method: 'grpo', options: grpoOptions(), reward: { name: 'bad.js', source: 'module.exports = 42;' },
      data: { name: 'p.jsonl', text: '{"prompt": "hi"}\n' },
    };
    await expect(grpoJobStrategy(spec, tok, (n, s) => loadRewardSource(n, s, { timeoutMs: 1000 }), { batch: 1, padId: 0, stopTokens: [0] }))
      .rejects.toThrow(/^bad\.js: module\.exports must be a function or an object of functions/);
  });
});
