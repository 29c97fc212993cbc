/**
 * Continued pre-training for a knowledge update: new documents (raw text, every token a target,
 * no chat template) are split by document into training and held-out parts, cut into windows,
 * packed and trained over the ordinary TrainJob (LoRA or full). The held-out new documents and a
 * general-text sample are scored before and after, side by side, so forgetting shows next to
 * what was learned. Every host (CLI, Worker) runs CPT through here.
 */
import type { Document } from '../data/documents.ts';
import { documentWindows } from '../data/documents-chunk.ts';
import type { Tokens } from '../data/packing.ts';
import type { DatasetRecord } from '../data/records.ts';
import { splitTrainValidation } from '../data/split.ts';
import { scoreSequences } from '../eval/likelihood.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from '../train/config.ts';
import type { TrainEvent } from '../train/events.ts';
import type { RunDescription } from '../train/run-files.ts';
import type { TrainSummary } from '../train/trainer.ts';
import { TrainJob } from './train-job.ts';

export interface CptOptions {
  /** Tokens per row (and per window). */
  readonly seq: number;
  /** Tokens a window repeats from the one before as context (documents-chunk.ts). */
  readonly overlap: number;
  /** Fraction of the new documents held out (at least one). */
  readonly heldOut: number;
}

export interface Perplexity {
  readonly loss: number;
  readonly perplexity: number;
  /** Scored tokens. */
  readonly tokens: number;
}

/** Held-out new documents and the general sample, at one point of the run. */
export interface CptScores {
  readonly newDocuments: Perplexity;
  readonly general: Perplexity;
}

export interface CptData {
  readonly trainDocuments: number;
  readonly heldOutDocuments: number;
  readonly generalDocuments: number;
  readonly trainWindows: number;
  readonly trainRows: number;
  readonly trainTokens: number;
}

export interface CptResult {
  readonly before: CptScores;
  readonly after: CptScores;
  readonly data: CptData;
  readonly summary: TrainSummary;
  /** The run files plus cpt_eval.json; null when nothing trained. */
  readonly files: Record<string, Uint8Array> | null;
}

export interface CptInit {
  readonly session: Session;
  readonly config: TrainConfig;
  readonly options: CptOptions;
  readonly documents: readonly Document[];
  readonly general: readonly Document[];
  readonly describe: { readonly model: RunDescription['model']; readonly datasetName: string };
  readonly onEvent?: (e: TrainEvent) => void;
  /** Scoring progress: which set, and how far. */
  readonly onScore?: (what: 'new documents' | 'general sample', when: 'before' | 'after') => void;
  readonly signal?: AbortSignal;
}

/** The documents split by document and cut into windows: what a CPT run trains on and scores. */
export interface CptWindows {
  readonly train: readonly Tokens[];
  readonly heldOut: readonly Tokens[];
  readonly general: readonly Tokens[];
  readonly trainDocuments: readonly Document[];
  readonly data: Omit<CptData, 'trainRows'>;
}

/** Splits the new documents (seeded, whole documents held out) and cuts every set into windows. */
export function cptWindows(
  session: Session, documents: readonly Document[], general: readonly Document[], o: CptOptions, seed: number,
): CptWindows {
  const tok = session.requireTokenizer();
  const cfg = session.requireModel().cfg;
  if (o.seq > cfg.maxPositions) throw new RangeError(`a row of ${o.seq} tokens exceeds the model's ${cfg.maxPositions} positions`);
  if (documents.length < 2) throw new RangeError(`continued pre-training needs at least 2 documents (one is held out), got ${documents.length}`);
  if (general.length === 0) throw new RangeError('the general sample holds no documents');
  const split = splitTrainValidation(documents, { fraction: o.heldOut, seed });
  if (split.train.length === 0) throw new RangeError(`holding out ${o.heldOut} of ${documents.length} documents leaves none to train on`);
  const eosId = tok.specialTokens.eos?.id ?? cfg.eosTokenIds[0];
  if (eosId === undefined) throw new RangeError('the model names no EOS token (config.json eos_token_id or the tokenizer), which ends each document');
  const w = { seq: o.seq, overlap: o.overlap, eosId };
  const train = documentWindows(split.train, tok, w);
  const heldOut = documentWindows(split.validation, tok, w);
  const generalWindows = documentWindows(general, tok, w);
  return {
    train: train.windows, heldOut: heldOut.windows, general: generalWindows.windows, trainDocuments: split.train,
    data: {
      trainDocuments: split.train.length, heldOutDocuments: split.validation.length, generalDocuments: general.length,
      trainWindows: train.windows.length, trainTokens: train.tokens,
    },
  };
}

/** Rows of a CPT run: always packed, one window per row at most. */
export const cptRows = (seq: number) => ({ maxLength: seq, packing: true, seq });

type ScoreProgress = (what: 'new documents' | 'general sample', when: 'before' | 'after') => void;

/** Perplexity of the held-out new documents and of the general sample with the model as it is now. */
export async function scoreCpt(session: Session, w: CptWindows, when: 'before' | 'after', onScore?: ScoreProgress): Promise<CptScores> {
  const model = session.requireModel();
  const one = async (what: 'new documents' | 'general sample', windows: readonly Tokens[]): Promise<Perplexity> => {
    onScore?.(what, when);
    const r = await scoreSequences(model, windows);
    return { loss: r.loss, perplexity: r.perplexity, tokens: r.tokens };
  };
  return { newDocuments: await one('new documents', w.heldOut), general: await one('general sample', w.general) };
}

/** cpt_eval.json: the settings, the data and both scores, saved with the run files. */
export function cptEvalFile(o: CptOptions, data: CptData, before: CptScores, after: CptScores): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ seq: o.seq, overlap: o.overlap, heldOut: o.heldOut, data, before, after }, null, 2)}\n`);
}

/** A prepared CPT run: the split and windows are fixed, the model carries its adapter. */
export class CptRun {
  private constructor(
    private readonly init: CptInit,
    readonly job: TrainJob,
    readonly data: CptData,
    private readonly windows: CptWindows,
  ) {}

  static async create(init: CptInit): Promise<CptRun> {
    const { session, options: o, config } = init;
    const w = cptWindows(session, init.documents, init.general, o, config.seed);
    const records: DatasetRecord[] = init.documents.map((d) => ({ record: { kind: 'text', text: d.text }, source: d.source }));
    const job = await TrainJob.create({
      session, config, examples: { train: w.train, validation: w.heldOut }, rows: cptRows(o.seq),
      describe: {
        model: init.describe.model,
        dataset: { name: init.describe.datasetName, version: 1, records, maskPrompt: false, validationFraction: o.heldOut, splitSeed: config.seed },
      },
      onEvent: init.onEvent, signal: init.signal,
    });
    return new CptRun(init, job, { ...w.data, trainRows: job.rows.train.length }, w);
  }

  /** Perplexity of the held-out new documents and of the general sample with the model as it is now. */
  score(when: 'before' | 'after'): Promise<CptScores> {
    return scoreCpt(this.init.session, this.windows, when, this.init.onScore);
  }

  /** Scores, trains, scores again; the run files gain cpt_eval.json with both scores. */
  async run(): Promise<CptResult> {
    const before = await this.score('before');
    const { summary, files } = await this.job.run();
    const after = await this.score('after');
    const withEval = files && { ...files, 'cpt_eval.json': cptEvalFile(this.init.options, this.data, before, after) };
    return { before, after, data: this.data, summary, files: withEval };
  }

  destroy(): void {
    this.job.destroy();
  }
}
