import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, LLAMA, ROOT, tabtune } from './cli-harness.ts';

const GPT2 = join(ROOT, 'tests/fixtures/hf/models/tiny-gpt2');

beforeAll(buildCli);

describe('tabtune export: bad input gets one clear line, and nothing is left behind', () => {
  it('refuses bad flags and inputs before writing anything', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-export-'));
    mkdirSync(join(out, 'is-folder.gguf'));
    const cases: [string[], number, RegExp][] = [
      [['--model', LLAMA, '--out', join(out, 'm.gguf'), '--type', 'q4_0'], 2, /--type must be one of f32, f16, q8_0/],
      [['--model', LLAMA, '--out', join(out, 'm.gguf'), '--format', 'onnx'], 2, /--format must be one of gguf, gguf-lora/],
      [['--model', LLAMA, '--out', join(out, 'm.bin')], 2, /--out must name a \.gguf file/],
      [['--model', LLAMA, '--out', `${out}/`], 2, /--out must name a \.gguf file/],
      [['--model', LLAMA, '--out', join(out, 'is-folder.gguf')], 1, /is a folder/],
      [['--format', 'gguf-lora', '--model', LLAMA, '--out', join(out, 'a.gguf')], 2, /needs --adapter/],
      [['--model', GPT2, '--out', join(out, 'g.gguf')], 1, /tokenizer\.json: not found: llama\.cpp needs the vocabulary/],
      [['--model', LLAMA, '--adapter', GPT2, '--out', join(out, 'm.gguf')], 1, /adapter_config\.json: not found/],
    ];
    for (const [args, code, message] of cases) {
      const r = tabtune('export', ...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trim().split('\n').pop(), args.join(' ')).toMatch(message);
    }
    expect(readdirSync(out)).toEqual(['is-folder.gguf']);
  });

  it('writes the GGUF and the Modelfile beside it, with --json', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-export-'));
    const r = tabtune('export', '--model', LLAMA, '--adapter', join(LLAMA, 'adapter'), '--out', join(out, 'm.gguf'), '--type', 'q8_0', '--json');
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout.trim());
    expect(rec).toMatchObject({ format: 'gguf', type: 'q8_0', tensors: 20, files: [join(out, 'm.gguf'), join(out, 'Modelfile')] });
    expect(readdirSync(out).sort()).toEqual(['Modelfile', 'm.gguf']);
    expect(existsSync(join(out, 'm.gguf'))).toBe(true);
  });
});
