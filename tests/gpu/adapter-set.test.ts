import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { memoryTree, type FileTree } from '../../src/core/formats/bytes.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';
import { LoraAdapter, type LoraSettings } from '../../src/core/model/lora.ts';
import { prepareModel, Session } from '../../src/core/session.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { randomArray, testGpu } from './gpu-harness.ts';

const TINY_LLAMA = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const PROMPT = [1, 17, 230, 41, 9, 388, 5];

/** A PEFT folder (in memory) with random A and B, so the adapter changes the model's outputs. */
async function randomAdapter(gpu: Gpu, cfg: ModelConfig, settings: LoraSettings, seed: number): Promise<FileTree> {
  const lora = LoraAdapter.create(gpu, cfg, settings, seed);
  for (const m of lora.modules) {
    const t = lora.store.get(m.b);
    gpu.write(t.buffer, randomArray(m.out * settings.r, seed * 100 + m.stream, 0.3), t.offset * 4);
  }
  const files = await lora.save(gpu, null);
  lora.destroy();
  return memoryTree(`adapter-${seed}`, files);
}

async function greedy(session: Session) {
  const g = await session.generate(PROMPT, { maxNewTokens: 6, greedy: true, ignoreEos: true });
  return { ids: g.ids, logprobs: g.logprobs };
}

describe('several adapters over one base', () => {
  it('switches per request without reloading: base buffers are the same objects, outputs equal each adapter loaded alone', async () => {
    const gpu = await testGpu();
    const prepared = await prepareModel(nodeFileTree(TINY_LLAMA));
    const cfg = prepared.inspected.cfg;
    // Different ranks, targets and scalings: each adapter applies its own modules.
    const wide = await randomAdapter(gpu, cfg, {
      r: 4, alpha: 8, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, 'all-linear'),
    }, 1);
    const narrow = await randomAdapter(gpu, cfg, {
      r: 2, alpha: 16, dropout: 0, rslora: true, targets: resolveTargets(cfg.arch, ['q_proj', 'v_proj', 'down_proj']),
    }, 2);

    const alone = new Session(gpu);
    await alone.loadModel(prepared);
    const want: Record<string, Awaited<ReturnType<typeof greedy>>> = { base: await greedy(alone) };
    for (const [name, tree] of [['wide', wide], ['narrow', narrow]] as const) {
      await alone.loadAdapter(tree);
      want[name] = await greedy(alone);
    }
    alone.unloadModel();
    expect(want.wide!.ids).not.toEqual(want.base!.ids);
    expect(want.narrow!.logprobs).not.toEqual(want.wide!.logprobs);

    const session = new Session(gpu);
    await session.loadModel(prepared);
    const names = await session.loadAdapters([{ name: 'wide', from: wide }, { name: 'narrow', from: narrow }]);
    expect(names).toEqual(['wide', 'narrow']);
    const m = session.requireModel();
    const baseBuffers = m.weights.store.lengths.map((_, i) => m.weights.store.whole(i).buffer);
    const wideLora = m.lora;
    for (const name of ['wide', 'narrow', null, 'narrow', 'wide'] as const) {
      session.useAdapter(name);
      expect(await greedy(session)).toEqual(want[name ?? 'base']);
      expect(session.requireModel()).toBe(m);
      expect(m.weights.store.lengths.map((_, i) => m.weights.store.whole(i).buffer)).toEqual(baseBuffers);
      baseBuffers.forEach((b, i) => expect(m.weights.store.whole(i).buffer).toBe(b));
    }
    expect(m.lora).toBe(wideLora);
    expect(session.adapterInfo()?.r).toBe(4);
    session.useAdapter('narrow');
    expect(session.adapterInfo()).toMatchObject({ r: 2, rslora: true, targets: ['self_attn.q_proj', 'self_attn.v_proj', 'mlp.down_proj'] });
    expect(() => session.useAdapter('other')).toThrow('adapter "other": not loaded; the loaded adapters are wide, narrow');
    session.unloadModel();
  });

  it('refuses a name given twice and an adapter that does not fit the base, leaving nothing half-loaded', async () => {
    const gpu = await testGpu();
    const prepared = await prepareModel(nodeFileTree(TINY_LLAMA));
    const cfg = prepared.inspected.cfg;
    const settings = { r: 2, alpha: 4, dropout: 0, rslora: false, targets: resolveTargets(cfg.arch, ['q_proj']) };
    const a = await randomAdapter(gpu, cfg, settings, 3);
    const session = new Session(gpu);
    await session.loadModel(prepared);
    await expect(session.loadAdapters([{ name: 'a', from: a }, { name: 'a', from: a }]))
      .rejects.toThrow('adapter "a": this name is given twice; name each adapter once (NAME=DIR)');
    expect(session.requireModel().lora).toBeNull();
    expect(session.adapterNames).toEqual([]);
    const other = { ...cfg, hidden: cfg.hidden * 2 } as ModelConfig;
    const misfit = await randomAdapter(gpu, other, { ...settings, r: 2 }, 4);
    await expect(session.loadAdapters([{ name: 'a', from: a }, { name: 'big', from: misfit }])).rejects.toThrow(/does not fit the model/);
    expect(session.requireModel().lora).toBeNull();
    session.unloadModel();
  });
});
