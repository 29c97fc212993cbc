/**
 * The de-duplication step. Records are taken in order; each is compared with the records kept so
 * far, and a duplicate is removed in favour of the earlier record it matches. Duplicates are not
 * added to the index, so every cluster is a kept record and the records that matched it directly
 * (no chains A≈B≈C drifting away from A). Same input and seed, same result.
 */
import type { DatasetRecord, RecordSource } from '../records.ts';
import { DEFAULT_DEDUP, DuplicateIndex, type DedupConfig } from './duplicate-index.ts';
import { describeRecord } from './record-text.ts';
import { runStep, type RecordStep } from './step.ts';
import { RuleTally } from './tally.ts';
import type { StepResult } from './types.ts';

export interface DuplicateMember {
  readonly source: RecordSource;
  /** Position in the step's input. */
  readonly index: number;
  readonly similarity: number;
  readonly kind: 'exact' | 'near';
}

export interface DuplicateCluster {
  readonly kept: RecordSource;
  readonly keptIndex: number;
  readonly duplicates: DuplicateMember[];
}

export interface DedupResult extends StepResult {
  readonly clusters: DuplicateCluster[];
  /** The LSH banding used (null without near-duplicate matching). */
  readonly lsh: { bands: number; rows: number } | null;
}

const fmt = (s: RecordSource) => `${s.file}:${s.line}`;

export function createDedupStep(config: DedupConfig = DEFAULT_DEDUP, maxExamples = 5): RecordStep<DedupResult> {
  const index = new DuplicateIndex(config);
  const exact = new RuleTally('exact-duplicate', maxExamples);
  const near = new RuleTally('near-duplicate', maxExamples);
  const out: DatasetRecord[] = [];
  /** Input index of each kept record, by its id in the index (its position in `out`). */
  const keptIndex: number[] = [];
  const clusters = new Map<number, DuplicateCluster>();
  let seen = 0;

  return {
    name: 'dedup',
    push(rec, i) {
      seen++;
      const fp = index.fingerprint(rec.record);
      const m = index.match(fp);
      if (!m) {
        index.add(fp, out.length);
        keptIndex.push(i);
        out.push(rec);
        return;
      }
      const kept = out[m.id]!;
      let cluster = clusters.get(m.id);
      if (!cluster) {
        cluster = { kept: kept.source, keptIndex: keptIndex[m.id]!, duplicates: [] };
        clusters.set(m.id, cluster);
      }
      cluster.duplicates.push({ source: rec.source, index: i, similarity: m.similarity, kind: m.kind });
      const note = m.kind === 'exact' ? `same as ${fmt(kept.source)}` : `≈ ${fmt(kept.source)} (Jaccard ${m.similarity.toFixed(2)})`;
      (m.kind === 'exact' ? exact : near).removed(rec.source, describeRecord(rec.record), note);
    },
    finish() {
      const rules = [config.exact ? exact : null, config.near ? near : null].filter((r): r is RuleTally => r !== null);
      return {
        records: out,
        report: { step: 'dedup', before: seen, after: out.length, rules: rules.map((r) => r.report()) },
        clusters: [...clusters.values()].sort((a, b) => a.keptIndex - b.keptIndex),
        lsh: index.lsh,
      };
    },
  };
}

/** Removes exact and near duplicates within one dataset; the input is not changed. */
export function dedupRecords(records: readonly DatasetRecord[], config: DedupConfig = DEFAULT_DEDUP, maxExamples = 5): DedupResult {
  return runStep(createDedupStep(config, maxExamples), records);
}
