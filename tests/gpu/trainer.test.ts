import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import type { Row } from '../../src/core/data/rows.ts';
import { Trainer, type Checkpoint } from '../../src/core/train/trainer.ts';
import { trainConfig, type TrainConfigInput } from '../../src/core/train/config.ts';
import type { TrainEvent } from '../../src/core/train/events.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { Rng } from '../../src/core/rng.ts';
import { testGpu } from './gpu-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const S = 16;

/** Rows from a tiny "language": token t+1 follows t, so a model can learn it. */
function rows(n: number, seed: number): Row[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const start = 10 + rng.int(200);
    const ids = Array.from({ length: S }, (_, i) => start + i);
    return { inputIds: ids, labels: ids.map((id, i) => (i < 2 ? -100 : id)) };
  });
}

async function makeTrainer(config: TrainConfigInput, extra: { resume?: Checkpoint; onCheckpoint?: (c: Checkpoint) => Promise<void>; onEvent?: (e: TrainEvent) => void; validation?: Row[] } = {}) {
  const gpu = await testGpu();
  const model = await loadTransformer(gpu, nodeFileTree(DIR));
  const cfg = trainConfig({ batch: 2, gradAccum: 2, lr: 5e-3, seed: 7, ...config, lora: { r: 4, alpha: 8, dropout: 0.1, ...config.lora } });
  if (cfg.method === 'lora') {
    model.lora = LoraAdapter.create(gpu, model.cfg, { r: cfg.lora.r, alpha: cfg.lora.alpha, dropout: cfg.lora.dropout, rslora: cfg.lora.rslora, targets: resolveTargets(model.cfg.arch, 'all-linear') }, cfg.seed);
  }
  const events: TrainEvent[] = [];
  const trainer = await Trainer.create({
    model, config: cfg, seq: S, train: rows(12, 1), validation: extra.validation,
    onEvent: (e) => { events.push(e); extra.onEvent?.(e); }, onCheckpoint: extra.onCheckpoint, resume: extra.resume,
  });
  return { trainer, model, events, losses: () => events.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss) };
}

describe('trainer', () => {
  it('repeats bit for bit for a seed, and stop-and-resume gives the uninterrupted losses', async () => {
    const a = await makeTrainer({ steps: 6 });
    await a.trainer.run();
    const b = await makeTrainer({ steps: 6 });
    await b.trainer.run();
    expect(b.losses()).toEqual(a.losses());
    expect(a.losses().length).toBe(6);
    a.trainer.destroy(); a.model.destroy(); b.trainer.destroy(); b.model.destroy();

    // Stopped after step 3 (from an event), resumed from its checkpoint in a new trainer and model.
    let saved: Checkpoint | null = null;
    const c = await makeTrainer({ steps: 6 }, {
      onCheckpoint: async (ck) => { saved = ck; },
      onEvent: (e) => { if (e.type === 'step' && e.step === 3) c.trainer.stop(); },
    });
    const first = await c.trainer.run();
    expect(first.state).toBe('stopped');
    expect(saved).not.toBeNull();
    const done = saved!.state.step;
    const d = await makeTrainer({ steps: 6 }, { resume: saved! });
    const second = await d.trainer.run();
    expect(second.state).toBe('finished');
    expect([...c.losses().slice(0, done), ...d.losses()]).toEqual(a.losses());
    c.trainer.destroy(); c.model.destroy(); d.trainer.destroy(); d.model.destroy();
  });

  it('skips periodic validation when there are no validation rows (a preference or GRPO run in the app)', async () => {
    const t = await makeTrainer({ steps: 4, evalEvery: 2 });
    const summary = await t.trainer.run();
    expect(summary).toMatchObject({ state: 'finished', steps: 4 });
    expect(t.events.filter((e) => e.type === 'eval' || e.type === 'alert')).toEqual([]);
    t.trainer.destroy(); t.model.destroy();
  });

  it('lowers validation loss, and early stopping restores the best weights', async () => {
    const validation = rows(4, 99);
    const t = await makeTrainer({ steps: 12, evalEvery: 3, schedule: 'constant', lr: 2e-2 }, { validation });
    const before = await t.trainer.evaluate(validation);
    const summary = await t.trainer.run();
    const evals = t.events.filter((e) => e.type === 'eval') as { valLoss: number }[];
    expect(evals.length).toBe(4);
    expect(evals[evals.length - 1]!.valLoss).toBeLessThan(before);
    expect(summary.state).toBe('finished');
    t.trainer.destroy(); t.model.destroy();

    // A learning rate so high that validation gets worse: early stopping must restore the best.
    const e = await makeTrainer({ steps: 40, evalEvery: 1, earlyStoppingPatience: 2, schedule: 'constant', lr: 0.3, clip: 0 }, { validation });
    const s = await e.trainer.run();
    if (s.state === 'early-stopped') {
      const restored = await e.trainer.evaluate(validation);
      expect(restored).toBeCloseTo(s.bestValLoss!, 5);
      const last = (e.events.filter((x) => x.type === 'eval') as { valLoss: number }[]).at(-1)!;
      expect(last.valLoss).toBeGreaterThan(s.bestValLoss!);
    } else {
      expect.fail(`expected early stopping, got ${s.state}: ${s.message}`);
    }
    e.trainer.destroy(); e.model.destroy();
  });

  it('a NaN in the weights stops the run with an alert', async () => {
    const t = await makeTrainer({ steps: 10 }, {
      onEvent: (ev) => {
        if (ev.type === 'step' && ev.step === 2) {
          const m = t.model.lora!.modules[0]!;
          const w = t.model.lora!.store.get(m.a);
          t.model.gpu.write(w.buffer, new Float32Array([NaN]), w.offset * 4);
        }
      },
    });
    const s = await t.trainer.run();
    expect(s.state).toBe('failed');
    const alert = t.events.find((e) => e.type === 'alert') as { message: string } | undefined;
    expect(alert?.message).toMatch(/NaN/);
    expect(s.steps).toBeLessThan(10);
    t.trainer.destroy(); t.model.destroy();
  });
});
