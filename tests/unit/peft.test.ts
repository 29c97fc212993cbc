import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectInputError } from './expect-input-error.ts';
import {
  adapterConfigJson,
  linearModules,
  loraKey,
  parseAdapterConfig,
  parseLoraKey,
  resolveTargets,
  targetModulesList,
} from '../../src/core/formats/peft.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { parseConfig, type Architecture } from '../../src/core/model/config.ts';
import { nodeFileSource } from '../../src/platform/node-files.ts';

const models = (p: string) => fileURLToPath(new URL(`../fixtures/hf/models/${p}`, import.meta.url));
const json = async (p: string) => JSON.parse(await readFile(models(p), 'utf8')) as Record<string, unknown>;

const FIXTURES: { dir: string; arch: Architecture }[] = [
  { dir: 'tiny-llama', arch: 'llama' },
  { dir: 'tiny-gpt2', arch: 'gpt2' },
];

const expectError = (fn: () => unknown, where: string | undefined, reason: RegExp, file = 'adapter_config.json') => expectInputError(fn, file, where, reason);

describe('adapter_config.json', () => {
  it('parses both fixture adapters', async () => {
    const llama = parseAdapterConfig(await json('tiny-llama/adapter/adapter_config.json'));
    expect(llama).toMatchObject({ r: 4, alpha: 8, dropout: 0, scaling: 2, fanInFanOut: false, useRslora: false, useDora: false, bias: 'none', baseModel: null, modulesToSave: null, excludeModules: null });
    expect([...(llama.targetModules as string[])].sort()).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const gpt2 = parseAdapterConfig(await json('tiny-gpt2/adapter/adapter_config.json'));
    expect(gpt2).toMatchObject({ r: 4, alpha: 8, scaling: 2, fanInFanOut: true });
    expect(gpt2.targetModules).toEqual(['c_proj', 'c_fc', 'c_attn']);
    expect(gpt2.raw['peft_version']).toBe('0.21.0');
  });

  it('resolves the fixture targets to every linear layer', async () => {
    for (const { dir, arch } of FIXTURES) {
      const cfg = parseAdapterConfig(await json(`${dir}/adapter/adapter_config.json`));
      expect(resolveTargets(arch, cfg.targetModules, { layers: 2, exclude: cfg.excludeModules })).toEqual(linearModules(arch).map((m) => m.id));
    }
  });

  it('refuses what tabtune cannot run, with the field named', async () => {
    const base = await json('tiny-llama/adapter/adapter_config.json');
    expectError(() => parseAdapterConfig({ ...base, peft_type: 'IA3' }), 'peft_type', /"IA3" is not supported \(only LORA\)/);
    const { peft_type: _p, ...noType } = base;
    expectError(() => parseAdapterConfig(noType), 'peft_type', /missing/);
    expect(parseAdapterConfig({ ...base, use_dora: true }).useDora).toBe(true);
    expectError(() => parseAdapterConfig({ ...base, rank_pattern: { q_proj: 8 } }), 'rank_pattern', /not supported yet/);
    expectError(() => parseAdapterConfig({ ...base, alpha_pattern: { q_proj: 16 } }), 'alpha_pattern', /not supported yet/);
    expectError(() => parseAdapterConfig({ ...base, layers_to_transform: [0] }), 'layers_to_transform', /not supported/);
    expectError(() => parseAdapterConfig({ ...base, lora_bias: true }), 'lora_bias', /not supported/);
    expectError(() => parseAdapterConfig({ ...base, bias: 'some' }), 'bias', /"none", "all" or "lora_only"/);
    expectError(() => parseAdapterConfig({ ...base, r: 0 }, 'a/adapter_config.json'), 'r', /positive integer/, 'a/adapter_config.json');
    expectError(() => parseAdapterConfig({ ...base, target_modules: 3 }), 'target_modules', /list of module names or a regex/);
    expectError(() => parseAdapterConfig('LORA'), undefined, /not a JSON object/);
  });

  it('reads rsLoRA scaling, regex targets, null targets, bias and modules_to_save', async () => {
    const base = await json('tiny-llama/adapter/adapter_config.json');
    const rs = parseAdapterConfig({ ...base, use_rslora: true, r: 16, lora_alpha: 8 });
    expect(rs.scaling).toBe(2);
    const re = parseAdapterConfig({ ...base, target_modules: '.*\\.(q|v)_proj' });
    expect(re.targetModules).toBe('.*\\.(q|v)_proj');
    expect(resolveTargets('llama', re.targetModules)).toEqual(['self_attn.q_proj', 'self_attn.v_proj']);
    const def = parseAdapterConfig({ ...base, target_modules: null });
    expect(def.targetModules).toBeNull();
    const other = parseAdapterConfig({ ...base, bias: 'lora_only', modules_to_save: ['lm_head'], base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M' });
    expect(other).toMatchObject({ bias: 'lora_only', modulesToSave: ['lm_head'], baseModel: 'HuggingFaceTB/SmolLM2-135M' });
  });

  it('adapterConfigJson writes every key PEFT 0.21 writes, with the fixture values', async () => {
    for (const { dir, arch } of FIXTURES) {
      const fixture = await json(`${dir}/adapter/adapter_config.json`);
      const ours = adapterConfigJson({ arch, r: 4, alpha: 8, targetModules: linearModules(arch).map((m) => m.id) });
      expect(Object.keys(ours)).toEqual(Object.keys(fixture).sort());
      expect(Object.keys(ours).sort()).toEqual(Object.keys(fixture).sort());
      const sortTargets = (o: Record<string, unknown>) => ({ ...o, target_modules: [...(o['target_modules'] as string[])].sort() });
      expect(sortTargets(ours)).toEqual(sortTargets(fixture));
      // And it parses back to the same settings.
      const back = parseAdapterConfig(JSON.parse(JSON.stringify(ours)));
      expect(resolveTargets(arch, back.targetModules, { layers: 2 })).toEqual(linearModules(arch).map((m) => m.id));
      expect(back.fanInFanOut).toBe(arch === 'gpt2');
    }
    const custom = adapterConfigJson({ arch: 'qwen2', r: 8, alpha: 16, dropout: 0.05, useRslora: true, baseModel: 'Qwen/Qwen2.5-0.5B', targetModules: ['q_proj', 'self_attn.v_proj'] });
    expect(custom).toMatchObject({ r: 8, lora_alpha: 16, lora_dropout: 0.05, use_rslora: true, base_model_name_or_path: 'Qwen/Qwen2.5-0.5B', target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM', inference_mode: true, peft_type: 'LORA', fan_in_fan_out: false, modules_to_save: null, bias: 'none', use_dora: false, init_lora_weights: true, peft_version: '0.21.0' });
    expect(() => adapterConfigJson({ arch: 'llama', r: 4, alpha: 8, targetModules: [] })).toThrow(/at least one/);
  });

  it('writes GPT-2 c_proj targets unambiguously', () => {
    expect(targetModulesList('gpt2', ['attn.c_proj'])).toEqual(['attn.c_proj']);
    expect(targetModulesList('gpt2', ['mlp.c_proj', 'c_attn'])).toEqual(['c_attn', 'mlp.c_proj']);
    expect(targetModulesList('gpt2', ['attn.c_proj', 'mlp.c_proj'])).toEqual(['c_proj']);
    expect(resolveTargets('gpt2', targetModulesList('gpt2', ['attn.c_proj']))).toEqual(['attn.c_proj']);
    expect(resolveTargets('gpt2', targetModulesList('gpt2', ['mlp.c_proj']))).toEqual(['mlp.c_proj']);
  });
});

describe('tensor keys', () => {
  it('every key of the fixture adapters parses, round-trips through loraKey and has PEFT shapes', async () => {
    for (const { dir, arch } of FIXTURES) {
      const model = parseConfig(await json(`${dir}/config.json`));
      const f = await SafetensorsFile.open(await nodeFileSource(models(`${dir}/adapter/adapter_model.safetensors`)));
      const seen = new Set<string>();
      for (const key of f.names()) {
        const k = parseLoraKey(key);
        expect(k, key).not.toBeNull();
        expect(k!.family).toBe(arch === 'gpt2' ? 'gpt2' : 'llama');
        expect(loraKey(arch, k!.layer, k!.module, k!.which)).toBe(key);
        const mod = linearModules(arch).find((m) => m.id === k!.module)!;
        const { in: fin, out } = mod.features(model);
        expect(f.info(key)!.shape).toEqual(k!.which === 'A' ? [4, fin] : [out, 4]);
        seen.add(`${k!.layer}/${k!.module}/${k!.which}`);
      }
      // Every (layer, module, A/B) is present once: 2 layers × modules × 2.
      expect(seen.size).toBe(2 * linearModules(arch).length * 2);
      expect(f.names()).toHaveLength(seen.size);
    }
  });

  it('accepts the ".default" adapter name used in the reference gradients', async () => {
    for (const { dir, arch } of FIXTURES) {
      const ref = await SafetensorsFile.open(await nodeFileSource(models(`${dir}/reference.safetensors`)));
      const names = ref.names().filter((n) => n.startsWith('lora_grad.')).map((n) => n.slice('lora_grad.'.length));
      expect(names.length).toBe(2 * linearModules(arch).length * 2);
      for (const n of names) {
        expect(n).toMatch(/\.default\.weight$/);
        const k = parseLoraKey(n)!;
        expect(loraKey(arch, k.layer, k.module, k.which)).toBe(n.replace('.default.weight', '.weight'));
      }
    }
  });

  it('names the documented keys and rejects others', () => {
    expect(loraKey('llama', 0, 'q_proj', 'A')).toBe('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(loraKey('qwen2', 23, 'mlp.down_proj', 'B')).toBe('base_model.model.model.layers.23.mlp.down_proj.lora_B.weight');
    expect(loraKey('gpt2', 0, 'c_attn', 'A')).toBe('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight');
    expect(loraKey('gpt2', 1, 'mlp.c_proj', 'B')).toBe('base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight');
    expect(() => loraKey('gpt2', 0, 'c_proj', 'A')).toThrow(/ambiguous/);
    expect(() => loraKey('llama', 0, 'c_attn', 'A')).toThrow(/no LoRA-able module/);
    expect(parseLoraKey('base_model.model.model.layers.12.mlp.up_proj.lora_B.default.weight')).toEqual({ layer: 12, module: 'mlp.up_proj', which: 'B', family: 'llama' });
    for (const bad of [
      'base_model.model.lm_head.lora_A.weight',
      'base_model.model.model.embed_tokens.lora_embedding_A',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector',
      'base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.other.weight',
      'base_model.model.model.layers.x.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.attn.c_attn.lora_A.weight',
      'base_model.model.transformer.h.0.self_attn.q_proj.lora_A.weight',
      'model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight',
    ]) {
      expect(parseLoraKey(bad), bad).toBeNull();
    }
  });
});

describe('resolveTargets', () => {
  it('list entries match by exact name or by dotted suffix', () => {
    expect(resolveTargets('llama', ['q_proj', 'v_proj'])).toEqual(['self_attn.q_proj', 'self_attn.v_proj']);
    expect(resolveTargets('qwen2', ['self_attn.o_proj', 'down_proj'])).toEqual(['self_attn.o_proj', 'mlp.down_proj']);
    expect(resolveTargets('llama', ['model.layers.0.mlp.gate_proj'])).toEqual(['mlp.gate_proj']);
    expect(resolveTargets('gpt2', ['c_proj'])).toEqual(['attn.c_proj', 'mlp.c_proj']);
    expect(resolveTargets('gpt2', ['attn.c_proj'])).toEqual(['attn.c_proj']);
    expect(resolveTargets('gpt2', ['mlp.c_proj', 'c_fc'])).toEqual(['mlp.c_fc', 'mlp.c_proj']);
    // "proj" is not a suffix after a dot, so it matches nothing.
    expectError(() => resolveTargets('llama', ['proj']), 'target_modules', /matches none/);
    // Entries that match nothing are ignored when others match, as in PEFT.
    expect(resolveTargets('llama', ['q_proj', 'query_key_value'])).toEqual(['self_attn.q_proj']);
  });

  it('a string is a regex fullmatch on the module path', () => {
    expect(resolveTargets('llama', '.*\\.(q|k)_proj')).toEqual(['self_attn.q_proj', 'self_attn.k_proj']);
    // A regex must match the whole path, so a bare name selects nothing (unlike a list entry).
    expectError(() => resolveTargets('llama', 'q_proj'), 'target_modules', /matches none/);
    expect(resolveTargets('gpt2', '.*attn.*')).toEqual(['attn.c_attn', 'attn.c_proj']);
    expect(resolveTargets('llama', 'model\\.layers\\.\\d+\\.mlp\\.(?P<name>up|down)_proj')).toEqual(['mlp.up_proj', 'mlp.down_proj']);
    expectError(() => resolveTargets('llama', '.*\\.0\\.self_attn\\.q_proj', { layers: 2 }), 'target_modules', /differ between layers/);
    expectError(() => resolveTargets('llama', '(unclosed'), 'target_modules', /regex/);
  });

  it('all-linear, null defaults, exclusions and unsupported modules', () => {
    expect(resolveTargets('qwen2', 'all-linear')).toEqual(linearModules('qwen2').map((m) => m.id));
    expect(resolveTargets('gpt2', 'ALL-LINEAR')).toEqual(['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']);
    expect(resolveTargets('llama', null)).toEqual(['self_attn.q_proj', 'self_attn.v_proj']);
    expect(resolveTargets('gpt2', null)).toEqual(['attn.c_attn']);
    expect(resolveTargets('gpt2', 'all-linear', { exclude: ['mlp.c_proj'] })).toEqual(['attn.c_attn', 'attn.c_proj', 'mlp.c_fc']);
    expect(resolveTargets('llama', ['q_proj', 'k_proj'], { exclude: '.*k_proj' })).toEqual(['self_attn.q_proj']);
    expectError(() => resolveTargets('llama', ['q_proj', 'lm_head']), 'target_modules', /lm_head is not supported/);
    expectError(() => resolveTargets('gpt2', ['c_attn', 'wte']), 'target_modules', /transformer.wte is not supported/);
    expect(resolveTargets('llama', ['q_proj', 'lm_head'], { exclude: ['lm_head'] })).toEqual(['self_attn.q_proj']);
  });
});

