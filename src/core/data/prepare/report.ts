/** The data quality report: what each step did, lengths, duplicate clusters, flags, balance. */
import type { RecordSource } from '../records.ts';
import type { DuplicateCluster } from './dedup.ts';
import type { Flag } from './review.ts';
import type { StepReport } from './types.ts';

export interface LengthHistogram {
  readonly unit: 'tokens' | 'characters';
  readonly edges: number[];
  readonly counts: number[];
  readonly mean: number;
  readonly max: number;
}

export interface QualityReport {
  readonly createdAt: string;
  readonly input: number;
  readonly output: number;
  readonly steps: readonly StepReport[];
  readonly lengths: { readonly before: LengthHistogram; readonly after: LengthHistogram };
  /** The first clusters, each with its first members and `size`, the number of duplicates it had. */
  readonly duplicates: {
    readonly clusters: readonly (DuplicateCluster & { readonly size: number })[];
    readonly clusterCount: number;
    readonly lsh: { bands: number; rows: number } | null;
  } | null;
  readonly flags: readonly Flag[];
  readonly flagCounts: Readonly<Record<string, number>>;
  readonly balance: { readonly field: string; readonly before: Record<string, number>; readonly after: Record<string, number> } | null;
  readonly leakage: { readonly checked: number; readonly leaked: readonly { validation: RecordSource; train: RecordSource; similarity: number }[] } | null;
}

export function histogram(lengths: readonly number[], unit: LengthHistogram['unit'], bins = 12): LengthHistogram {
  const max = lengths.reduce((m, v) => Math.max(m, v), 0);
  const width = Math.max(1, Math.ceil((max + 1) / bins));
  const edges = Array.from({ length: bins + 1 }, (_, i) => i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of lengths) counts[Math.min(bins - 1, Math.floor(v / width))]!++;
  return { unit, edges, counts, mean: lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0, max };
}

const where = (s: RecordSource) => `${s.file}:${s.line}`;

/** The report as plain text for the CLI and the app. */
export function renderReport(r: QualityReport): string {
  const lines: string[] = [`Data quality report (${r.createdAt})`, `records: ${r.input} → ${r.output}`, ''];
  for (const s of r.steps) {
    lines.push(`${s.step}: ${s.before} → ${s.after}`);
    for (const rule of s.rules) {
      if (!rule.changed && !rule.removed) continue;
      lines.push(`  ${rule.rule}: ${rule.changed} changed, ${rule.removed} removed`);
      for (const e of rule.examples.slice(0, 3)) {
        const note = e.note ? ` (${e.note})` : '';
        lines.push(`    ${where(e.source)}${note}: ${e.before ?? ''}${e.after !== undefined ? ` → ${e.after}` : ''}`);
      }
    }
  }
  const bar = (h: LengthHistogram) => {
    const peak = Math.max(1, ...h.counts);
    return h.counts.map((c, i) => {
      const range = `${String(h.edges[i]).padStart(6)}–${String(h.edges[i + 1]! - 1).padEnd(6)}`;
      return `  ${range} ${'█'.repeat(Math.round((20 * c) / peak)).padEnd(20)} ${c}`;
    });
  };
  lines.push(
    '',
    `lengths before (${r.lengths.before.unit}, mean ${r.lengths.before.mean.toFixed(1)}, max ${r.lengths.before.max}):`,
    ...bar(r.lengths.before),
  );
  lines.push(`lengths after (${r.lengths.after.unit}, mean ${r.lengths.after.mean.toFixed(1)}, max ${r.lengths.after.max}):`, ...bar(r.lengths.after));
  if (r.duplicates) {
    const lsh = r.duplicates.lsh ? ` (LSH ${r.duplicates.lsh.bands} bands × ${r.duplicates.lsh.rows} rows)` : '';
    lines.push('', `duplicate clusters: ${r.duplicates.clusterCount}${lsh}`);
    for (const c of r.duplicates.clusters.slice(0, 10)) {
      const more = c.size > c.duplicates.length ? ` and ${c.size - c.duplicates.length} more` : '';
      const removed = c.duplicates
        .slice(0, 5)
        .map((d) => `${where(d.source)} (${d.kind}${d.kind === 'near' ? ` ${d.similarity.toFixed(2)}` : ''})`)
        .join(', ');
      lines.push(`  kept ${where(c.kept)}; removed ${removed}${c.duplicates.length > 5 ? ', …' : ''}${more}`);
    }
  }
  if (r.flags.length) {
    lines.push('', `flagged: ${Object.entries(r.flagCounts).map(([k, n]) => `${n} ${k}`).join(', ')}`);
    for (const f of r.flags.slice(0, 20)) lines.push(`  ${where(f.source)} ${f.location}: ${f.kind} "${f.match}" (${f.action})`);
  }
  if (r.balance) {
    lines.push('', `balance by ${r.balance.field}:`);
    for (const k of Object.keys({ ...r.balance.before, ...r.balance.after }).sort()) {
      lines.push(`  ${k}: ${r.balance.before[k] ?? 0} → ${r.balance.after[k] ?? 0}`);
    }
  }
  if (r.leakage) {
    lines.push('', `train/validation leakage: ${r.leakage.leaked.length} of ${r.leakage.checked} validation records repeat a training record`);
    for (const l of r.leakage.leaked.slice(0, 10)) lines.push(`  ${where(l.validation)} ≈ ${where(l.train)} (${l.similarity.toFixed(2)})`);
  }
  return `${lines.join('\n')}\n`;
}
