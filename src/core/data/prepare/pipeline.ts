/**
 * Data preparation end to end: clean → de-duplicate → review (personal data, blocklist) →
 * balance, with a quality report. The input is never changed: the caller stores the result as a
 * new dataset version. Runs in slices that yield to the event loop (Web Worker friendly).
 */
import type { DatasetRecord } from '../records.ts';
import { balanceRecords, distribution, type BalanceConfig } from './balance.ts';
import { createCleanStep, DEFAULT_CLEAN, type CleanConfig } from './clean.ts';
import { createDedupStep, type DedupResult } from './dedup.ts';
import { DEFAULT_DEDUP, DEFAULT_NEAR_DUP, type DedupConfig } from './duplicate-index.ts';
import { findLeakage } from './leakage.ts';
import { PII_KINDS } from './pii.ts';
import { recordText } from './record-text.ts';
import { histogram, type QualityReport } from './report.ts';
import { createReviewStep, DEFAULT_REVIEW, type ReviewConfig, type ReviewResult } from './review.ts';
import type { Script } from './script.ts';
import { runStepAsync, type ProgressHooks } from './step.ts';
import type { CountTokens, StepReport } from './types.ts';

export interface PrepareConfig {
  readonly clean: CleanConfig | false;
  readonly dedup: DedupConfig | false;
  readonly review: ReviewConfig | false;
  readonly balance: BalanceConfig | false;
}

export const DEFAULT_PREPARE: PrepareConfig = { clean: DEFAULT_CLEAN, dedup: DEFAULT_DEDUP, review: DEFAULT_REVIEW, balance: false };

export interface PrepareOptions extends ProgressHooks {
  readonly countTokens?: CountTokens;
  /** Validation records to check for leakage against the prepared training records. */
  readonly validation?: readonly DatasetRecord[];
}

export interface PrepareResult {
  readonly records: DatasetRecord[];
  readonly report: QualityReport;
}

export async function prepareDataset(input: readonly DatasetRecord[], config: PrepareConfig, o: PrepareOptions = {}): Promise<PrepareResult> {
  const measure = (recs: readonly DatasetRecord[]) =>
    histogram(
      recs.map((r) => (o.countTokens ? o.countTokens(recordText(r.record)) : Array.from(recordText(r.record)).length)),
      o.countTokens ? 'tokens' : 'characters',
    );
  const lengthsBefore = measure(input);
  const steps: StepReport[] = [];
  let records: readonly DatasetRecord[] = input;
  let dedup: DedupResult | null = null;
  let review: ReviewResult | null = null;
  if (config.clean) {
    const r = await runStepAsync(createCleanStep(config.clean, { countTokens: o.countTokens }), records, o);
    steps.push(r.report);
    records = r.records;
  }
  if (config.dedup) {
    dedup = await runStepAsync(createDedupStep(config.dedup), records, o);
    steps.push(dedup.report);
    records = dedup.records;
  }
  if (config.review) {
    review = await runStepAsync(createReviewStep(config.review), records, o);
    steps.push(review.report);
    records = review.records;
  }
  let balance: QualityReport['balance'] = null;
  if (config.balance) {
    o.onProgress?.('balance', 0, records.length);
    const b = balanceRecords(records, config.balance);
    steps.push(b.report);
    records = b.records;
    balance = { field: config.balance.field, before: b.before, after: b.after };
    o.onProgress?.('balance', records.length, records.length);
  }
  const leakage = o.validation?.length ? findLeakage(records, o.validation, config.dedup || DEFAULT_DEDUP) : null;
  const flagCounts: Record<string, number> = {};
  for (const f of review?.flags ?? []) flagCounts[f.kind] = (flagCounts[f.kind] ?? 0) + 1;
  return {
    records: [...records],
    report: {
      createdAt: new Date().toISOString(),
      input: input.length,
      output: records.length,
      steps,
      lengths: { before: lengthsBefore, after: measure(records) },
      // Reports stay small enough to store with the dataset and send to the page: 100 clusters of up to 20 members.
      duplicates: dedup
        ? {
            clusters: dedup.clusters.slice(0, 100).map((c) => ({ ...c, duplicates: c.duplicates.slice(0, 20), size: c.duplicates.length })),
            clusterCount: dedup.clusters.length,
            lsh: dedup.lsh,
          }
        : null,
      flags: review?.flags ?? [],
      flagCounts,
      balance,
      leakage: leakage
        ? {
            checked: leakage.checked,
            leaked: leakage.leaked.map((l) => ({ validation: l.validation.source, train: l.train, similarity: l.similarity })),
          }
        : null,
    },
  };
}

/** The Data view's Prepare form, as the app sends it. */
export interface PrepareForm {
  readonly clean: boolean;
  readonly minTokens: number;
  readonly maxTokens: number;
  /** Comma-separated script names (Latin, Cyrillic, Han, ...); empty keeps all. */
  readonly scripts: string;
  readonly exactDedup: boolean;
  readonly nearDedup: boolean;
  readonly nearThreshold: number;
  readonly pii: 'off' | 'flag' | 'mask';
  /** One term per line. */
  readonly blocklist: string;
  readonly blocklistAction: 'flag' | 'remove';
  readonly balanceField: string;
  readonly balanceMode: 'none' | 'cap' | 'undersample' | 'oversample';
  readonly balanceCap: number;
  readonly seed: number;
}

export function configFromForm(f: PrepareForm): PrepareConfig {
  const scripts = f.scripts.split(',').map((s) => s.trim()).filter(Boolean) as Script[];
  const length =
    f.minTokens > 0 || f.maxTokens > 0
      ? { ...(f.minTokens > 0 ? { minTokens: f.minTokens } : {}), ...(f.maxTokens > 0 ? { maxTokens: f.maxTokens } : {}) }
      : false;
  const terms = f.blocklist.split(/\r?\n/).map((t) => t.trim()).filter((t) => t && !t.startsWith('#'));
  return {
    clean: f.clean
      ? { ...DEFAULT_CLEAN, scripts: scripts.length ? { allowed: scripts, minShare: 0.5 } : false, length }
      : length
        ? { ...DEFAULT_CLEAN, normalize: false, controlChars: false, whitespace: false, chat: false, length }
        : false,
    dedup: f.exactDedup || f.nearDedup
      ? { exact: f.exactDedup, near: f.nearDedup ? { ...DEFAULT_NEAR_DUP, threshold: f.nearThreshold, seed: f.seed } : false }
      : false,
    review: f.pii !== 'off' || terms.length
      ? {
          pii: f.pii === 'off' ? false : { mode: f.pii, kinds: PII_KINDS },
          blocklist: terms.length ? { terms, action: f.blocklistAction } : false,
        }
      : false,
    balance: f.balanceField && f.balanceMode !== 'none' ? { field: f.balanceField, mode: f.balanceMode, cap: f.balanceCap, seed: f.seed } : false,
  };
}

export { distribution };
