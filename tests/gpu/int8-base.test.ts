import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { scoreSequences } from '../../src/core/eval/likelihood.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { parseDataset } from '../../src/core/data/import.ts';
import { tokenizeRecords } from '../../src/core/data/tokenize.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { packRows } from '../../src/core/data/rows.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const DEMO = fileURLToPath(new URL('../../public/models/demo-base', import.meta.url));
const HELD = fileURLToPath(new URL('../../public/datasets/factbook-qa-eval.jsonl', import.meta.url));

describe('an int8 base (per-channel scales, dequantised in the matmul)', () => {
  it('keeps the demo model within 1% of its f32 loss, uses less memory, and trains LoRA', async () => {
    const gpu = await testGpu();
    const tok = await Tokenizer.fromTree(nodeFileTree(DEMO));
    const { records } = parseDataset('held', readFileSync(HELD));
    const examples = tokenizeRecords(records, tok, { maxLength: 64, maskPrompt: false }).examples.slice(0, 40);
    const f32 = await loadTransformer(gpu, nodeFileTree(DEMO));
    const f32Bytes = f32.weights.store.buffers.reduce((a, b) => a + b.size, 0);
    const base = await scoreSequences(f32, examples);
    f32.destroy();
    const q = await loadTransformer(gpu, nodeFileTree(DEMO), undefined, { int8: true });
    const qBytes = q.weights.store.buffers.reduce((a, b) => a + b.size, 0);
    const quant = await scoreSequences(q, examples);
    console.log(`demo model: f32 loss ${base.loss.toFixed(4)}, int8 loss ${quant.loss.toFixed(4)} (${(100 * (quant.loss / base.loss - 1)).toFixed(2)}%); weights ${(f32Bytes / 2 ** 20).toFixed(1)} → ${(qBytes / 2 ** 20).toFixed(1)} MiB`);
    expect(Math.abs(quant.loss - base.loss) / base.loss).toBeLessThan(0.01);
    expect(qBytes).toBeLessThan(0.6 * f32Bytes);
    expect(() => q.setTrainable('full')).toThrow(/int8/);

    q.lora = LoraAdapter.create(gpu, q.cfg, { r: 8, alpha: 16, dropout: 0, rslora: false, targets: resolveTargets('llama', 'all-linear') }, 1);
    const rows = packRows(examples, 128, 0);
    const trainer = await Trainer.create({ model: q, config: trainConfig({ steps: 6, lr: 5e-3, batch: 1, schedule: 'constant', lora: { r: 8, alpha: 16, dropout: 0 } }), seq: 128, train: rows });
    const s = await trainer.run();
    const losses = s.history.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    trainer.destroy();
    q.destroy();
  });
});
