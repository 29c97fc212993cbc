/**
 * Continued pre-training on a workspace dataset (the app's "Continued pre-training" method): the
 * dataset's text records are the new documents, the general sample comes with the run's settings
 * and is kept in the run record (a few KB), and the run is the ordinary TrainJob over document
 * windows (pipeline/cpt.ts, as `tabtune train-cpt`), with the held-out new documents' and the
 * general sample's perplexity before and after stored with the run and in cpt_eval.json.
 */
import { readDocuments, type Document } from '../data/documents.ts';
import type { DatasetRecord } from '../data/records.ts';
import { cptEvalFile, cptRows, cptWindows, scoreCpt, type CptData, type CptOptions, type CptScores, type CptWindows } from '../pipeline/cpt.ts';
import type { TrainJob, TrainJobResult } from '../pipeline/train-job.ts';
import type { Session } from '../session.ts';
import type { DatasetMeta } from './datasets.ts';

/** What the app sends: the general sample's file (its own public/datasets/general-sample.jsonl by default). */
export interface CptRequest {
  readonly general: { readonly name: string; readonly bytes: Uint8Array };
  /** Tokens a long document's next window repeats as context (default 0). */
  readonly overlap?: number;
}

/** What the run record keeps: the window settings and the general sample's texts (so a run can continue). */
export interface CptRunSettings extends CptOptions {
  readonly general: { readonly name: string; readonly texts: readonly string[] };
}

/** Before and after, side by side; `after` is null until the run has trained. */
export interface CptEvaluation {
  readonly data: CptData;
  readonly before: CptScores;
  readonly after: CptScores | null;
}

/** The request as the run keeps it; the row length and held-out share are the dataset's own options. */
export function cptRunSettings(req: CptRequest, meta: DatasetMeta, maxPositions: number): CptRunSettings {
  const general = readDocuments(req.general.name, req.general.bytes).map((d) => d.text);
  const seq = Math.min(meta.options.maxLength, maxPositions);
  const overlap = req.overlap ?? 0;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= seq) throw new RangeError(`overlap must be a whole number in [0, ${seq}), got ${overlap}`);
  return { seq, overlap, heldOut: meta.options.validationFraction, general: { name: req.general.name, texts: general } };
}

/** The dataset's records as documents: every record must be plain text (checked before a run is recorded). */
export function documentsOf(meta: DatasetMeta, records: readonly DatasetRecord[]): Document[] {
  const other = records.find((r) => r.record.kind !== 'text');
  if (other) {
    throw new Error(`continued pre-training reads raw documents; ${meta.name} line ${other.source.line} is a ${other.record.kind} record`
      + ' (import .txt, .md or {"text": ...} JSONL files as documents)');
  }
  return records.map((r) => ({ text: (r.record as { text: string }).text, source: r.source }));
}

export class CptTraining {
  private constructor(
    private readonly session: Session,
    private readonly settings: CptRunSettings,
    readonly windows: CptWindows,
  ) {}

  static create(session: Session, meta: DatasetMeta, records: readonly DatasetRecord[], settings: CptRunSettings): CptTraining {
    const general = settings.general.texts.map((text, i) => ({ text, source: { file: settings.general.name, line: i + 1 } }));
    const w = cptWindows(session, documentsOf(meta, records), general, settings, meta.options.splitSeed);
    return new CptTraining(session, settings, w);
  }

  get examples(): { readonly train: CptWindows['train']; readonly validation: CptWindows['heldOut'] } {
    return { train: this.windows.train, validation: this.windows.heldOut };
  }

  get rows(): ReturnType<typeof cptRows> {
    return cptRows(this.settings.seq);
  }

  /**
   * Scores (unless a continued run scored already), trains, scores again. `onBefore` stores the first
   * scores as soon as they exist, so the run view shows them while training goes on.
   */
  async run(
    job: TrainJob, before: CptScores | null, onBefore: (e: CptEvaluation) => Promise<unknown>,
  ): Promise<TrainJobResult & { readonly cpt: CptEvaluation }> {
    const data: CptData = { ...this.windows.data, trainRows: job.rows.train.length };
    const first = before ?? (await scoreCpt(this.session, this.windows, 'before'));
    await onBefore({ data, before: first, after: null });
    const result = await job.run();
    if (!result.files) return { ...result, cpt: { data, before: first, after: null } };
    const after = await scoreCpt(this.session, this.windows, 'after');
    const files = { ...result.files, 'cpt_eval.json': cptEvalFile(this.settings, data, first, after) };
    return { ...result, files, cpt: { data, before: first, after } };
  }
}
