/**
 * What llama.cpp's own tokenizer does with the vocabulary tabtune embeds in a GGUF: the same ids
 * as tabtune (and so as Hugging Face tokenizers) on a set of strings, with special tokens in the
 * text parsed as special (as tokenizers does). llama.cpp does not read tokenizer.json's
 * normalizer: for a Qwen2-style tokenizer with NFC, text that NFC changes (a decomposed é) gets
 * different ids unless the caller normalises it first.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { buildCli, LLAMA, ROOT, tabtune } from './cli-harness.ts';

const STRINGS = [
  'Hello world', 'The President of the United States, in 1861.', '  leading spaces and   runs\n\nnew lines\ttabs',
  "don't won't I'm we'll they've", 'numbers 1234567 3.14159', 'émigré café naïve', '日本語のテキスト', 'emoji 🤖🚀 done',
  '<|im_start|>user\nhi<|im_end|>', 'UPPER lower MiXeD', 'a\u00a0b non-breaking', 'it\'s \'quoted\' "double"', 'Ünïcödé ÀÉÎ', '\r\nwindows line',
];
const DECOMPOSED = 'cafe\u0301 e\u0301migre\u0301';

let llama: Llama;
beforeAll(async () => {
  buildCli();
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
afterAll(async () => llama?.dispose());

async function compare(modelDir: string): Promise<{ ours: Tokenizer; llamaIds: (s: string) => number[]; dispose: () => Promise<void> }> {
  const out = join(mkdtempSync(join(tmpdir(), 'tabtune-gguf-')), 'm.gguf');
  const r = tabtune('export', '--model', modelDir, '--out', out, '--type', 'f16', '--no-modelfile');
  expect(r.code, r.stderr).toBe(0);
  const model = await llama.loadModel({ modelPath: out });
  return { ours: await Tokenizer.fromTree(nodeFileTree(modelDir)), llamaIds: (s) => [...model.tokenize(s, true)], dispose: () => model.dispose() };
}

describe('llama.cpp tokenizes with the embedded vocabulary as tabtune does', () => {
  it('demo model (byte-level BPE, GPT-2 pre-tokenizer "gpt-2")', async () => {
    const t = await compare(join(ROOT, 'public/models/demo-base'));
    for (const s of [...STRINGS, DECOMPOSED]) expect(t.llamaIds(s), JSON.stringify(s)).toEqual(t.ours.encode(s));
    await t.dispose();
  });

  it('Qwen2-style tokenizer (pre-tokenizer "qwen2"): the same ids except where the NFC normalizer changes the text', async () => {
    const t = await compare(LLAMA);
    for (const s of STRINGS) expect(t.llamaIds(s), JSON.stringify(s)).toEqual(t.ours.encode(s));
    expect(t.llamaIds(DECOMPOSED)).not.toEqual(t.ours.encode(DECOMPOSED));
    expect(t.llamaIds(DECOMPOSED.normalize('NFC'))).toEqual(t.ours.encode(DECOMPOSED));
    await t.dispose();
  });
});
