import { describe, expect, it } from 'vitest';
import { splitTrainValidation } from '../../src/core/data/split.ts';

const items = Array.from({ length: 100 }, (_, i) => `item-${i}`);

describe('splitTrainValidation', () => {
  it('is reproducible with a seed, differs across seeds, and partitions the items in their order', () => {
    const a = splitTrainValidation(items, { fraction: 0.1, seed: 42 });
    const b = splitTrainValidation(items, { fraction: 0.1, seed: 42 });
    const c = splitTrainValidation(items, { fraction: 0.1, seed: 43 });
    expect(a).toEqual(b);
    expect(a.validation).not.toEqual(c.validation);
    expect(a.validation).toHaveLength(10);
    expect(a.train).toHaveLength(90);
    expect([...a.train, ...a.validation].sort()).toEqual([...items].sort());
    const idx = (s: string) => Number(s.slice(5));
    for (const part of [a.train, a.validation]) expect(part.map(idx)).toEqual([...part.map(idx)].sort((x, y) => x - y));
  });

  it('takes a count, never empties train, and allows an empty validation', () => {
    expect(splitTrainValidation(items, { count: 7, seed: 1 }).validation).toHaveLength(7);
    expect(splitTrainValidation(['only'], { fraction: 0.5, seed: 1 })).toEqual({ train: ['only'], validation: [] });
    expect(splitTrainValidation(['a', 'b'], { count: 5, seed: 1 }).train).toHaveLength(1);
    expect(splitTrainValidation(items, { fraction: 0, seed: 1 })).toEqual({ train: items, validation: [] });
    expect(splitTrainValidation(items.slice(0, 5), { fraction: 0.01, seed: 1 }).validation).toHaveLength(1);
    expect(splitTrainValidation([], { fraction: 0.2, seed: 1 })).toEqual({ train: [], validation: [] });
  });

  it('rejects bad options', () => {
    expect(() => splitTrainValidation(items, { fraction: 1, seed: 1 })).toThrow(RangeError);
    expect(() => splitTrainValidation(items, { fraction: -0.1, seed: 1 })).toThrow(RangeError);
    expect(() => splitTrainValidation(items, { fraction: 0.1, count: 3, seed: 1 })).toThrow(/either fraction or count/);
    expect(() => splitTrainValidation(items, { count: 1.5, seed: 1 })).toThrow(RangeError);
  });
});
