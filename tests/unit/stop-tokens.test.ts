/** Stop tokens read from a model's own files, and the streaming decoder's whole-character deltas. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memoryTree, type FileTree } from '../../src/core/formats/bytes.ts';
import { readGenerationConfig } from '../../src/core/formats/generation-config.ts';
import { TextStream } from '../../src/core/formats/tokenizer/text-stream.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { parseConfig } from '../../src/core/model/config.ts';
import { endOfTurnToken, padTokenId, stopTokenIds } from '../../src/core/model/stop-tokens.ts';

const dir = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const folder = (p: string, skip: (f: string) => boolean = () => false): FileTree =>
  memoryTree(p, Object.fromEntries(readdirSync(dir(p)).filter((f) => f.endsWith('.json') || f.endsWith('.jinja')).filter((f) => !skip(f)).map((f) => [f, readFileSync(join(dir(p), f))])));

describe('stop tokens from the model files', () => {
  it('the chat template closes an assistant turn with <|im_end|>: that id ends generation, with the EOS ids', async () => {
    const tree = folder('public/models/demo-base');
    const tok = await Tokenizer.fromTree(tree);
    const cfg = parseConfig(JSON.parse(readFileSync(join(dir('public/models/demo-base'), 'config.json'), 'utf8')));
    const imEnd = tok.tokenToId('<|im_end|>');
    expect(imEnd).toBeDefined();
    expect(endOfTurnToken(tok)).toBe(imEnd);
    const stops = stopTokenIds(cfg, tok, await readGenerationConfig(tree));
    expect(new Set(stops)).toEqual(new Set([...cfg.eosTokenIds, imEnd!]));
    expect(padTokenId(cfg)).toBe(cfg.padTokenId ?? cfg.eosTokenIds[0]);
  });

  it('generation_config.json adds its eos ids; without a tokenizer only the config ids count', async () => {
    const cfg = parseConfig(JSON.parse(readFileSync(join(dir('public/models/demo-base'), 'config.json'), 'utf8')));
    const gen = await readGenerationConfig(memoryTree('m', { 'generation_config.json': new TextEncoder().encode('{"eos_token_id": [7, 9]}') }));
    expect(gen).toEqual({ eosTokenIds: [7, 9] });
    expect(new Set(stopTokenIds(cfg, null, gen))).toEqual(new Set([...cfg.eosTokenIds, 7, 9]));
    expect(await readGenerationConfig(memoryTree('m', {}))).toBeNull();
    await expect(readGenerationConfig(memoryTree('m', { 'generation_config.json': new TextEncoder().encode('{"eos_token_id": "x"}') }))).rejects.toThrow(/eos_token_id/);
  });

  it('a tokenizer without a chat template has no end-of-turn token', async () => {
    const tok = await Tokenizer.fromTree(folder('public/models/demo-base', (f) => f === 'chat_template.jinja' || f === 'tokenizer_config.json'));
    expect(tok.chatTemplate).toBeUndefined();
    expect(endOfTurnToken(tok)).toBeUndefined();
  });
});

describe('TextStream', () => {
  it('streams whole characters whose concatenation is the decoded text', async () => {
    const tok = await Tokenizer.fromTree(folder('public/models/demo-base'));
    const text = 'naïve café — 日本語 😀 done';
    const ids = tok.encode(text);
    const stream = new TextStream(tok);
    const deltas = ids.map((id) => stream.push(id));
    expect(deltas.join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    expect(deltas.some((d) => d.includes('\uFFFD'))).toBe(false);
    expect(stream.text).toBe(deltas.join(''));
  });
});
