/**
 * The de-duplication step. Records are taken in order; each is compared with the clusters found
 * so far, each represented by its first record (the anchor). A record that matches no anchor starts
 * a cluster; one that matches joins the best matching cluster. Only anchors are indexed, so every
 * cluster is an anchor and the records that matched it directly (no chains A≈B≈C drifting away
 * from A). Of each cluster the cleanest copy is kept (cleanliness.ts), in the anchor's place; the
 * others are removed. Same input and seed, same result.
 */
import type { DatasetRecord, RecordSource } from '../records.ts';
import { cleanerBecause, cleanliness, compareCleanliness, type Cleanliness } from './cleanliness.ts';
import { DEFAULT_DEDUP, DuplicateIndex, type DedupConfig } from './duplicate-index.ts';
import { describeRecord } from './record-text.ts';
import { runStep, type RecordStep } from './step.ts';
import { RuleTally } from './tally.ts';
import type { StepResult } from './types.ts';
import { dedupIdentity } from './pair-identity.ts';

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

interface Member {
  readonly rec: DatasetRecord;
  readonly index: number;
  /** Similarity to the anchor (1 for the anchor itself). */
  readonly similarity: number;
  readonly kind: 'exact' | 'near';
  readonly clean: Cleanliness;
}

interface Cluster {
  readonly anchor: Member;
  best: Member;
  readonly members: Member[];
}

export function createDedupStep(config: DedupConfig = DEFAULT_DEDUP, maxExamples = 5): RecordStep<DedupResult> {
  const index = new DuplicateIndex(config);
  const exact = new RuleTally('exact-duplicate', maxExamples);
  const near = new RuleTally('near-duplicate', maxExamples);
  /** The anchor of each cluster, by its id in the index (its position in the output). */
  const anchors: { rec: DatasetRecord; index: number }[] = [];
  const clusters = new Map<number, Cluster>();
  let seen = 0;

  return {
    name: 'dedup',
    push(rec, i) {
      seen++;
      const fp = index.fingerprint(dedupIdentity(rec));
      const m = index.match(fp);
      if (!m) {
        index.add(fp, anchors.length);
        anchors.push({ rec, index: i });
        return;
      }
      let cluster = clusters.get(m.id);
      if (!cluster) {
        const a = anchors[m.id]!;
        const anchor: Member = { rec: a.rec, index: a.index, similarity: 1, kind: 'exact', clean: cleanliness(a.rec.record) };
        cluster = { anchor, best: anchor, members: [] };
        clusters.set(m.id, cluster);
      }
      const member: Member = { rec, index: i, similarity: m.similarity, kind: m.kind, clean: cleanliness(rec.record) };
      cluster.members.push(member);
      // strictly cleaner: among equals the earlier copy stays
      if (compareCleanliness(member.clean, cluster.best.clean) < 0) cluster.best = member;
    },
    finish() {
      const records = anchors.map((a, id) => clusters.get(id)?.best.rec ?? a.rec);
      const removed: { member: Member; cluster: Cluster }[] = [];
      const reported: DuplicateCluster[] = [];
      for (const cluster of clusters.values()) {
        const { anchor, best } = cluster;
        const others = [anchor, ...cluster.members].filter((x) => x !== best);
        for (const member of others) removed.push({ member, cluster });
        reported.push({
          kept: best.rec.source,
          keptIndex: best.index,
          // the anchor, when it is not kept, is as similar to the kept copy as the kept copy is to it
          duplicates: others.map((x) => (x === anchor ? { ...asDuplicate(x), similarity: best.similarity, kind: best.kind } : asDuplicate(x))),
        });
      }
      removed.sort((a, b) => a.member.index - b.member.index);
      for (const { member, cluster } of removed) {
        (kindOf(member, cluster) === 'exact' ? exact : near).removed(member.rec.source, describeRecord(member.rec.record), removalNote(member, cluster));
      }
      const rules = [config.exact ? exact : null, config.near ? near : null].filter((r): r is RuleTally => r !== null);
      return {
        records,
        report: { step: 'dedup', before: seen, after: records.length, rules: rules.map((r) => r.report()) },
        // in output order: by the anchor's position, the lowest in each cluster
        clusters: reported.sort((a, b) => firstIndex(a) - firstIndex(b)),
        lsh: index.lsh,
      };
    },
  };
}

const firstIndex = (c: DuplicateCluster): number => Math.min(c.keptIndex, ...c.duplicates.map((d) => d.index));

/** How a removed member matched the kept copy: the anchor matched it as the kept copy matched the anchor. */
const kindOf = (m: Member, c: Cluster): 'exact' | 'near' => (m === c.anchor ? c.best.kind : m.kind);

function removalNote(m: Member, c: Cluster): string {
  const kept = c.best.rec.source;
  const similarity = m === c.anchor ? c.best.similarity : m.similarity;
  let note: string;
  if (kindOf(m, c) === 'exact' && (m === c.anchor || c.best === c.anchor || c.best.kind === 'exact')) note = `same as ${fmt(kept)}`;
  else if (m === c.anchor || c.best === c.anchor) note = `≈ ${fmt(kept)} (Jaccard ${similarity.toFixed(2)})`;
  else note = `≈ ${fmt(c.anchor.rec.source)} (Jaccard ${similarity.toFixed(2)}), as is the kept ${fmt(kept)}`;
  const why = cleanerBecause(c.best.clean, m.clean);
  if (why && m.index < c.best.index) note += `; kept the later copy: ${why}`;
  return note;
}

function asDuplicate(m: Member): DuplicateMember {
  return { source: m.rec.source, index: m.index, similarity: m.similarity, kind: m.kind };
}

/** Removes exact and near duplicates within one dataset; the input is not changed. */
export function dedupRecords(records: readonly DatasetRecord[], config: DedupConfig = DEFAULT_DEDUP, maxExamples = 5): DedupResult {
  return runStep(createDedupStep(config, maxExamples), records);
}
