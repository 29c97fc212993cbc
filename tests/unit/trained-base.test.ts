import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainedBaseNote, trainedBaseQuant } from '../../src/cli/trained-base.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { adapterReadme } from '../../src/core/workspace/adapter-readme.ts';
import type { RunRecord } from '../../src/core/workspace/runs.ts';

const run = (o: { quant?: 'none' | 'int8' | 'int4'; precision?: 'f32' | 'f16' }) => ({
  name: 'qa', step: 10, model: { name: 'demo', source: { kind: 'demo' } }, dataset: null, config: trainConfig(o),
}) as unknown as RunRecord;

describe('how the base was held travels with the adapter', () => {
  it('the adapter README gives QLoRA\'s caveat for a quantised base, and says when the base was f16', () => {
    expect(adapterReadme(run({ quant: 'int4' }))).toMatch(/Trained against a quantised base: this adapter was trained against an NF4 \(4-bit\) base/);
    expect(adapterReadme(run({ quant: 'int4' }))).toMatch(/bitsandbytes nf4, blocksize 64, no double quantisation/);
    expect(adapterReadme(run({ quant: 'int8' }))).toMatch(/against an int8 base/);
    expect(adapterReadme(run({ precision: 'f16' }))).toMatch(/held as f16 in training/);
    expect(adapterReadme(run({}))).not.toMatch(/quantised|f16/);
  });

  it('reads the quantisation from the run manifest beside an adapter (none without one)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-adapter-'));
    expect(trainedBaseQuant(dir)).toBe('none');
    writeFileSync(join(dir, 'run_manifest.json'), JSON.stringify({ config: { quant: 'int8' } }));
    expect(trainedBaseQuant(dir)).toBe('int8');
    expect(trainedBaseNote(dir)).toMatch(/int8 base \(QLoRA\)/);
    writeFileSync(join(dir, 'run_manifest.json'), '{ not json');
    expect(trainedBaseNote(dir)).toBeNull();
  });

  it('a run config refuses a quantised or f16 base for full fine-tuning, and both at once', () => {
    expect(() => trainConfig({ method: 'full', quant: 'int4' })).toThrow(/an int4 base is frozen: it trains with LoRA only/);
    expect(() => trainConfig({ method: 'full', precision: 'f16' })).toThrow(/f16 base trains with LoRA only/);
    expect(() => trainConfig({ quant: 'int8', precision: 'f16' })).toThrow(/quant int8 and precision f16 both set how the base is held/);
    expect(trainConfig({ quant: 'int4', precision: 'f32' }).quant).toBe('int4');
  });
});
