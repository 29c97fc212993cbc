import { it } from 'vitest';
import { cleanRecords } from '../../src/core/data/prepare/clean.ts';
import { DuplicateIndex, DEFAULT_DEDUP } from '../../src/core/data/prepare/duplicate-index.ts';
import type { DatasetRecord } from '../../src/core/data/records.ts';
it('profile', () => {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split(' ');
  const input: DatasetRecord[] = Array.from({ length: 100_000 }, (_, i) => ({
    record: { kind: 'prompt', prompt: `Question ${i % 70_000}: ${words[i % 12]} ${words[(i * 7) % 12]} ${words[(i * 5) % 12]}?`, completion: ` Answer ${i % 70_000}.` },
    source: { file: 'big', line: i + 1 },
  }));
  let t = performance.now();
  const c = cleanRecords(input);
  console.log('clean', (performance.now() - t).toFixed(0));
  const idx = new DuplicateIndex(DEFAULT_DEDUP);
  t = performance.now();
  const fps = c.records.map((r) => idx.fingerprint(r.record));
  console.log('fingerprint', (performance.now() - t).toFixed(0));
  t = performance.now();
  let cand = 0;
  let kept = 0;
  for (const fp of fps) { const m = idx.match(fp); if (!m) idx.add(fp, kept++); }
  console.log('match+add', (performance.now() - t).toFixed(0), 'kept', kept, idx.lsh);
});
