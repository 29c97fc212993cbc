/**
 * The learned adapter gate through the Worker API (workspace/adapter-gates.ts) on the tiny fixture
 * model: two imported adapters of different ranks and modules, the memory estimate, a few training
 * steps, the stored gate listed, generation with it and its routing; the downloaded .zip, read
 * back through train-gate's file readers on a session of its own, gives identical tokens, log
 * probabilities and routing.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { memoryTree } from '../../src/core/formats/bytes.ts';
import { writeSafetensors } from '../../src/core/formats/safetensors.ts';
import { AdapterGate } from '../../src/core/model/adapter-gate.ts';
import { readGateAdapter, readGateConfig, readGateWeights } from '../../src/core/model/adapter-gate-files.ts';
import { generateText, promptIds } from '../../src/core/pipeline/generate.ts';
import { Session } from '../../src/core/session.ts';
import { gateRouting } from '../../src/core/train/adapter-gate-routing.ts';
import { acquireNodeGpu } from '../../src/platform/node-gpu.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { chatJsonl, pickedFolder, testWorkbench } from './workbench-harness.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

const blobs = (prefix: string, files: Record<string, Uint8Array>) =>
  Object.entries(files).map(([name, bytes]) => ({ path: `${prefix}/${name}`, file: new Blob([bytes as Uint8Array<ArrayBuffer>]) }));

/** A second PEFT adapter: rank 2 on q_proj and v_proj only, seeded values (B non-zero). */
function qvAdapter(): Record<string, Uint8Array> {
  let x = 12345;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.6);
  const tensors = [0, 1].flatMap((l) => [['q_proj', 64], ['v_proj', 32]].flatMap(([m, out]) => {
    const stem = `base_model.model.model.layers.${l}.self_attn.${m}`;
    return [
      { name: `${stem}.lora_A.weight`, dtype: 'F32' as const, shape: [2, 64], data: rand(2 * 64) },
      { name: `${stem}.lora_B.weight`, dtype: 'F32' as const, shape: [out as number, 2], data: rand((out as number) * 2) },
    ];
  }));
  const config = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], use_dora: false };
  return { 'adapter_config.json': new TextEncoder().encode(JSON.stringify(config)), 'adapter_model.safetensors': writeSafetensors(tensors) };
}

describe('the learned adapter gate in the Worker API', () => {
  it('estimates, trains, stores, lists, generates with routing, and its download reloads to identical answers', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    const fixture = Object.fromEntries(['adapter_config.json', 'adapter_model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(TINY, 'adapter', f)))]));
    const echo = await wb.importAdapter('echo adapter', blobs('echo', fixture));
    const qv = await wb.importAdapter('qv', blobs('qv', qvAdapter()));
    const ds = await wb.importDataset('echo.jsonl', chatJsonl(24), { validationFraction: 0.25, maxLength: 32 });

    await expect(wb.trainGate({ name: 'one', runIds: [echo.id], datasetId: ds.id, batch: 2, steps: 2, lr: 1e-2 })).rejects.toThrow(/two or more adapters, got 1/);
    const pair = { name: 'bad', runIds: [echo.id, echo.id], datasetId: ds.id };
    await expect(wb.trainGate({ ...pair, batch: 2, steps: 0, lr: 1e-2 })).rejects.toThrow('steps must be a whole number of at least 1, got 0');
    await expect(wb.trainGate({ ...pair, batch: 1.5, steps: 2, lr: 1e-2 })).rejects.toThrow('rows per step must be a whole number of at least 1, got 1.5');
    await expect(wb.trainGate({ ...pair, batch: 2, steps: 2, lr: 0 })).rejects.toThrow('the learning rate must be above 0, got 0');

    const estimate = await wb.estimateGate({ runIds: [echo.id, qv.id], datasetId: ds.id, batch: 2 });
    expect(estimate.parameters).toBe(2 * 2 * 65);
    expect(estimate.parts.gate).toBe(2 * 2 * 65 * 4);
    expect(estimate.parts.optimizer).toBe(2 * estimate.parts.gate!);
    expect(estimate.rows).toBe(18);
    expect(estimate.total).toBeGreaterThan(estimate.parts.weights!);

    // Stopped after its second step: an error that says so, and nothing stored.
    // A run cannot start while the gate trains.
    let during: Promise<string> | null = null;
    const stopped = wb.trainGate({ name: 'stopped', runIds: [echo.id, qv.id], datasetId: ds.id, batch: 2, steps: 50, lr: 1e-2 }, (s) => {
      if (s === 1) during = wb.startRun({ datasetId: ds.id, config: { steps: 1, batch: 2 } }, () => undefined).catch((e: Error) => e.message);
      if (s === 2) void wb.abortGeneration();
    });
    await expect(stopped).rejects.toThrow(/stopped at step [23]; nothing was saved/);
    expect(await during).toMatch(/^a gate is training/);
    expect(await wb.listGates()).toEqual([]);

    const steps: number[] = [];
    const gate = await wb.trainGate({ name: 'mix', runIds: [echo.id, qv.id], datasetId: ds.id, batch: 2, steps: 5, lr: 5e-2 }, (s) => steps.push(s));
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    expect(gate.losses.length).toBe(5);
    expect(gate.losses.every(Number.isFinite)).toBe(true);
    expect(gate.adapters.map((a) => [a.name, a.r])).toEqual([['echo-adapter', 4], ['qv', 2]]);
    expect((await wb.listGates()).map((g) => g.id)).toEqual([gate.id]);

    const messages = [{ role: 'user', content: 'say sun moon' }];
    const sampling = { maxNewTokens: 6, greedy: true };
    const streamed: number[] = [];
    const g = await wb.generateWithGate({ gateId: gate.id, messages, sampling }, (t) => streamed.push(t.id));
    expect(g.tokens.length).toBeGreaterThan(0);
    expect(streamed).toEqual(g.tokens.map((t) => t.id));
    expect(g.routing.map((r) => r.name)).toEqual(['echo-adapter', 'qv']);
    expect(g.routing.reduce((n, r) => n + r.weight, 0)).toBeCloseTo(1, 5);
    // Trained: the gate is no longer the even mixture it starts as.
    expect(Math.abs(g.routing[0]!.weight - 0.5)).toBeGreaterThan(1e-3);
    // Whatever base was held last (here a QLoRA run's int8 one), the gate answers on the f32 base, as train-gate trained it.
    const qlora = await wb.startRun({ datasetId: ds.id, config: { steps: 2, batch: 2, quant: 'int8', lora: { r: 2, alpha: 4, dropout: 0 } } }, () => undefined);
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    expect((await wb.getRun(qlora)).state).toBe('finished');
    await wb.generate({ messages, runId: qlora, sampling });
    const again = await wb.generateWithGate({ gateId: gate.id, messages, sampling });
    expect(again.tokens).toEqual(g.tokens);
    expect(again.routing).toEqual(g.routing);

    // The download: train-gate's layout, read back as `generate --gate` reads a folder.
    const zip = unzipSync((await wb.exportGate(gate.id)).bytes);
    const folder = Object.keys(zip)[0]!.split('/')[0]!;
    expect(folder).toBe('mix-gate');
    const inside = (prefix: string) => Object.fromEntries(Object.entries(zip).filter(([k]) => k.startsWith(`${folder}/${prefix}`))
      .map(([k, v]) => [k.slice(folder.length + 1 + prefix.length), v]));
    expect(Object.keys(inside('')).sort()).toEqual([
      'echo-adapter/adapter_config.json', 'echo-adapter/adapter_model.safetensors', 'gate.safetensors', 'gate_config.json',
      'qv/adapter_config.json', 'qv/adapter_model.safetensors',
    ]);
    const s = new Session(await acquireNodeGpu());
    await s.loadModel(nodeFileTree(TINY));
    const model = s.requireModel();
    const tree = memoryTree(folder, inside(''));
    const config = await readGateConfig(tree, model.cfg);
    expect(config.adapters.map((a) => a.path)).toEqual(['echo-adapter', 'qv']);
    const adapters = [];
    for (const a of config.adapters) adapters.push(await readGateAdapter(a.name, model.cfg, memoryTree(a.name, inside(`${a.path}/`))));
    const ref = await AdapterGate.create(s.gpu, model.cfg, adapters);
    ref.setValues(await readGateWeights(tree, config));
    ref.attach(model);
    const r = await generateText(s, { messages }, sampling);
    expect(r.tokens.map((t) => [t.id, t.logprob])).toEqual(g.tokens.map((t) => [t.id, t.logprob]));
    const routing = await gateRouting(model, ref, promptIds(s, { messages }), r.tokens.map((t) => t.id));
    expect(routing).toEqual(g.routing.map((x) => x.weight));
    s.dispose();
  }, 120_000);
});
