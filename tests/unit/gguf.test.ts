import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGgufFileInfo } from 'node-llama-cpp';
import { ggufChunks, ggufLayout, GgmlType, type GgufMetadata } from '../../src/core/formats/gguf.ts';
import { storedType } from '../../src/core/deploy/gguf-export.ts';
import { quantizeQ8_0 } from '../../src/core/formats/gguf-quant.ts';
import { applyLayout, llamaPermutation } from '../../src/core/deploy/gguf-tensors.ts';
import { postProcessorAddsBos, preTokenizerName } from '../../src/core/formats/gguf-vocab.ts';
import { modelfileText, stopSequences, templateParts } from '../../src/core/formats/ollama-modelfile.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

describe('GGUF writer', () => {
  it('writes a v3 file that node-llama-cpp\'s own parser reads back: metadata, tensor infos, aligned data', async () => {
    const md: GgufMetadata = new Map();
    md.set('general.architecture', { type: 'string', value: 'llama' });
    md.set('general.alignment', { type: 'u32', value: 32 });
    md.set('llama.rope.freq_base', { type: 'f32', value: 10000 });
    md.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: true });
    md.set('tokenizer.ggml.tokens', { type: 'string[]', value: ['a', 'ü', '<|im_end|>'] });
    md.set('tokenizer.ggml.token_type', { type: 'i32[]', value: [1, 1, 3] });
    const a = Float32Array.from({ length: 3 * 5 }, (_, i) => i - 7);
    const b = Float32Array.from({ length: 2 * 32 }, (_, i) => Math.sin(i));
    const tensors = [
      { info: { name: 'a.weight', shape: [3, 5], type: GgmlType.F32 }, data: async () => new Uint8Array(a.buffer) },
      { info: { name: 'b.weight', shape: [2, 32], type: GgmlType.Q8_0 }, data: async () => quantizeQ8_0(b) },
      { info: { name: 'c.bias', shape: [7], type: GgmlType.F32 }, data: async () => new Uint8Array(28) },
    ];
    const bytes = await collect(ggufChunks(md, tensors));
    const layout = ggufLayout(md, tensors.map((t) => t.info));
    expect(bytes.length).toBe(layout.fileSize);
    expect(layout.header.length % 32).toBe(0);
    expect(layout.offsets).toEqual([0, 64, 160]); // 60 → 64, 2 Q8_0 blocks of 34 bytes → 160
    const path = join(mkdtempSync(join(tmpdir(), 'tabtune-gguf-')), 't.gguf');
    writeFileSync(path, bytes);
    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe('llama');
    expect((info.metadata as unknown as { llama: { rope: { freq_base: number } } }).llama.rope.freq_base).toBe(10000);
    expect(info.metadata.tokenizer?.ggml.tokens).toEqual(['a', 'ü', '<|im_end|>']);
    expect(info.metadata.tokenizer?.ggml.add_bos_token).toBe(true);
    const t = info.fullTensorInfo!;
    expect(t.map((x) => [x.name, x.dimensions.map(Number), x.ggmlType, Number(x.offset)])).toEqual([
      ['a.weight', [5, 3], 0, 0], ['b.weight', [32, 2], 8, 64], ['c.bias', [7], 0, 160],
    ]);
    const dataStart = layout.header.length;
    expect(new Float32Array(new Uint8Array(bytes.subarray(dataStart, dataStart + 60)).buffer)).toEqual(a);
  });

  it('refuses a tensor whose encoded size does not match its shape and type', async () => {
    const md: GgufMetadata = new Map();
    const bad = [{ info: { name: 'x', shape: [4], type: GgmlType.F32 }, data: async () => new Uint8Array(12) }];
    await expect(collect(ggufChunks(md, bad))).rejects.toThrow(/"x" encoded to 12 bytes, expected 16/);
    expect(() => ggufLayout(md, [{ name: 'y', shape: [3, 20], type: GgmlType.Q8_0 }])).toThrow(/"y" rows of 20 values cannot be Q8_0/);
  });
});

describe('Q8_0', () => {
  it('stores d = max|x|/127 as f16 and round(x/d) half away from zero, per block of 32', () => {
    const x = new Float32Array(64);
    x[0] = 127; x[1] = -63.5; x[2] = 0.5; x[3] = -0.5; x[4] = 1.49;
    x.fill(0, 32);
    const q = quantizeQ8_0(x);
    expect(q.length).toBe(68);
    const v = new DataView(q.buffer);
    expect(v.getUint16(0, true)).toBe(0x3c00); // d = 1.0 in f16
    expect([v.getInt8(2), v.getInt8(3), v.getInt8(4), v.getInt8(5), v.getInt8(6)]).toEqual([127, -64, 1, -1, 1]);
    expect(v.getUint16(34, true)).toBe(0); // an all-zero block: d = 0, values 0
    expect([...q.subarray(36)].every((b) => b === 0)).toBe(true);
  });

  it('falls back to f16 for rows that are not a multiple of 32, and keeps 1-D tensors f32', () => {
    expect(storedType('blk.0.ffn_down.weight', [64, 176], 'q8_0')).toBe(GgmlType.F16);
    expect(storedType('blk.0.ffn_up.weight', [176, 64], 'q8_0')).toBe(GgmlType.Q8_0);
    expect(storedType('blk.0.attn_norm.weight', [64], 'f16')).toBe(GgmlType.F32);
    expect(storedType('position_embd.weight', [64, 64], 'q8_0')).toBe(GgmlType.F32);
  });
});

describe('tensor layouts', () => {
  it('permutes Llama q/k rows from rotate-half order to interleaved pairs, per head', () => {
    // Head of 4 rows: HF [x0, x1 | y0, y1] → llama.cpp [x0, y0, x1, y1].
    expect([...llamaPermutation(8, 2)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    const w = Float32Array.from({ length: 8 * 2 }, (_, i) => i);
    const out = applyLayout(w, [8, 2], { kind: 'permute', heads: 2 });
    expect([...out.data.subarray(0, 4)]).toEqual([0, 1, 4, 5]);
  });

  it('transposes GPT-2 Conv1D weights [in, out] to [out, in]', () => {
    const out = applyLayout(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], { kind: 'transpose' });
    expect(out.shape).toEqual([3, 2]);
    expect([...out.data]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('embedded tokenizer', () => {
  it('names llama.cpp\'s pre-tokenizer from tokenizer.json', () => {
    expect(preTokenizerName(json('public/models/demo-base/tokenizer.json'))).toBe('gpt-2');
    expect(preTokenizerName(json('tests/fixtures/hf/tokenizers/bpe512-chat/tokenizer.json'))).toBe('qwen2');
    expect(preTokenizerName(json('tests/fixtures/hf/tokenizers/gpt2/tokenizer.json'))).toBe('gpt-2');
    expect(preTokenizerName({ pre_tokenizer: { type: 'Whitespace' } })).toBeNull();
  });

  it('adds BOS only when the post-processor puts it first', () => {
    const bosFirst = { post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] } };
    expect(postProcessorAddsBos(bosFirst, '<s>')).toBe(true);
    expect(postProcessorAddsBos(json('tests/fixtures/hf/tokenizers/bpe512-chat/tokenizer.json'), '<|endoftext|>')).toBe(false);
  });
});

describe('Ollama Modelfile', () => {
  it('translates a ChatML template into Go template text with the same output, and its stop token', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(join(ROOT, 'tests/fixtures/hf/models/tiny-llama')));
    const parts = templateParts((m, gen) => tok.applyChatTemplate(m, { addGenerationPrompt: gen }));
    expect(parts.user).toEqual({ prefix: '<|im_start|>user\n', suffix: '<|im_end|>\n' });
    expect(parts.generation).toBe('<|im_start|>assistant\n');
    const stops = stopSequences(parts, tok.specialTokens.eos?.content, tok.addedTokens.filter((t) => t.special).map((t) => t.content));
    expect(stops).toEqual(['<|im_end|>']);
    const text = modelfileText({ from: './m.gguf', template: parts, stops, parameters: { num_ctx: 128, temperature: 0.7 } });
    expect(text).toBe([
      'FROM ./m.gguf',
      'TEMPLATE """{{ range .Messages }}{{ if eq .Role "system" }}<|im_start|>system\n{{ .Content }}<|im_end|>\n{{ end }}'
        + '{{ if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n{{ end }}'
        + '{{ if eq .Role "assistant" }}<|im_start|>assistant\n{{ .Content }}<|im_end|>\n{{ end }}{{ end }}<|im_start|>assistant\n"""',
      'PARAMETER stop "<|im_end|>"', 'PARAMETER num_ctx 128', 'PARAMETER temperature 0.7', '',
    ].join('\n'));
  });

  it('reports a template whose text for a message depends on more than role and content', () => {
    const numbered = (m: readonly { role: string; content: string }[]) => m.map((x, i) => `${i}:${x.role}:${x.content}\n`).join('');
    expect(() => templateParts((m) => `${numbered(m)}${m.length}`)).toThrow(/depending on its place in the conversation/);
  });
});
