import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import type { RunEvent } from '../../src/core/workspace/api.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource } from '../../src/core/formats/bytes.ts';
import { chatJsonl, pickedFolder, testWorkbench } from './workbench-harness.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

describe('the Worker API (workbench) on the tiny fixture model', () => {
  it('imports chat data, masks prompts, trains, lowers validation loss, evaluates, generates, exports and re-imports', async () => {
    const wb = await testWorkbench();
    const model = await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    expect(model.arch).toBe('llama');
    const ds = await wb.importDataset('echo.jsonl', chatJsonl(64), { validationFraction: 0.25, maxLength: 64, packing: true });
    expect(ds.records).toBe(64);

    const preview = await wb.previewDataset(ds.id, 0, 3);
    expect(preview.train + preview.validation).toBe(64);
    for (const row of preview.rows) {
      // Prompt tokens carry no loss: the trained tokens spell exactly the assistant's answer and its end marker.
      const trained = row.tokens.filter((t) => t.trained).map((t) => t.text).join('');
      expect(trained).toMatch(/^[a-z]+ [a-z]+<\|im_end\|>$/);
      expect(row.text.startsWith('<|im_start|>user\nsay ')).toBe(true);
    }

    const before = await wb.evaluate({ datasetId: ds.id, split: 'validation', runId: null });
    const events: RunEvent[] = [];
    const runId = await wb.startRun({ datasetId: ds.id, config: { steps: 12, lr: 3e-2, batch: 4, evalEvery: 6, schedule: 'constant', lora: { r: 8, alpha: 16, dropout: 0 } } }, (e) => events.push(e));
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const run = await wb.getRun(runId);
    expect(run.state).toBe('finished');
    expect(events.filter((e) => e.type === 'step').length).toBe(12);
    const evals = events.filter((e) => e.type === 'eval') as Extract<RunEvent, { type: 'eval' }>[];
    expect(evals.length).toBe(2);
    const after = await wb.evaluate({ datasetId: ds.id, split: 'validation', runId });
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.hardest.length).toBeGreaterThan(0);

    const g = await wb.generate({ messages: [{ role: 'user', content: 'say sun moon' }], runId, sampling: { maxNewTokens: 6, greedy: true } });
    expect(g.tokens.length).toBeGreaterThan(0);
    expect(g.tokens.every((t) => t.logprob <= 0)).toBe(true);

    const zip = await wb.exportAdapter(runId);
    const files = unzipSync(zip.bytes);
    const folderName = Object.keys(files)[0]!.split('/')[0]!;
    const config = JSON.parse(new TextDecoder().decode(files[`${folderName}/adapter_config.json`]));
    expect(config.peft_type).toBe('LORA');
    expect(config.r).toBe(8);
    expect(config.lora_alpha).toBe(16);
    const st = await SafetensorsFile.open(bytesSource('adapter', files[`${folderName}/adapter_model.safetensors`]!));
    expect(st.names()).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    const manifest = await wb.exportManifest(runId);
    const m = JSON.parse(new TextDecoder().decode(manifest.find((f) => f.name === 'run_manifest.json')!.bytes));
    const trl = new TextDecoder().decode(manifest.find((f) => f.name === 'trl_config.yaml')!.bytes);
    // The TRL configuration names the same hyperparameters as the manifest.
    for (const [k, v] of [['learning_rate', m.config.lr], ['lora_r', m.config.lora.r], ['lora_alpha', m.config.lora.alpha], ['max_steps', m.config.steps], ['seed', m.config.seed], ['per_device_train_batch_size', m.config.batch], ['packing', m.dataset.packing]]) {
      expect(trl, k).toContain(`${k}: ${v}`);
    }

    const imported = await wb.importAdapter('reimported', Object.entries(files).map(([path, bytes]) => ({ path, file: new Blob([bytes]) })));
    expect(imported.state).toBe('imported');
    const again = await wb.evaluate({ datasetId: ds.id, split: 'validation', runId: imported.id });
    expect(again.loss).toBeCloseTo(after.loss, 5);
  });

  it('starting a run while the playground streams an answer stops the answer, then trains', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    const ds = await wb.importDataset('echo.jsonl', chatJsonl(16), { validationFraction: 0, maxLength: 64 });
    const settings = { datasetId: ds.id, config: { steps: 2, batch: 2, lora: { r: 4, alpha: 8, dropout: 0 } } };
    let started: Promise<string> | null = null;
    const streamed = await wb.generate({ prompt: 'the sun and the moon', runId: null, sampling: { maxNewTokens: 64, temperature: 1, seed: 3 } }, () => {
      // The user presses Train while tokens are still arriving.
      started ??= wb.startRun(settings, () => undefined);
    });
    expect(started).not.toBeNull();
    expect(streamed.stopReason).toBe('aborted');
    expect(streamed.tokens.length).toBeLessThan(64);
    const runId = await started!;
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    expect((await wb.getRun(runId)).state).toBe('finished');
    // The playground works again, with the trained adapter.
    const next = await wb.generate({ prompt: 'say sun', runId, sampling: { maxNewTokens: 4, greedy: true } });
    expect(next.tokens.length).toBeGreaterThan(0);
  });

  it('a stopped run continues from its checkpoint', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    const ds = await wb.importDataset('echo.jsonl', chatJsonl(32), { validationFraction: 0, maxLength: 64 });
    const events: RunEvent[] = [];
    const runId = await wb.startRun({ datasetId: ds.id, config: { steps: 8, saveEvery: 2, batch: 2, lora: { r: 4, alpha: 8, dropout: 0 } } }, (e) => {
      events.push(e);
      if (e.type === 'step' && e.step === 3) void wb.stopRun();
    });
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const stopped = await wb.getRun(runId);
    expect(stopped.state).toBe('stopped');
    expect(stopped.hasCheckpoint).toBe(true);
    await wb.continueRun(runId, (e) => events.push(e));
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const done = await wb.getRun(runId);
    expect(done.state).toBe('finished');
    expect(done.step).toBe(8);
  });
});
