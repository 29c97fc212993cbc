/**
 * "Turn feedback into a dataset": the playground's feedback on one run (or on the base model)
 * becomes a new dataset in TRL's preference format (picks and edits, and liked against disliked
 * answers to one prompt → chosen/rejected) or KTO's (ratings → label true/false), with the run it
 * came from recorded, so the Runs view can show run X's feedback → dataset → run Y.
 */
import { ktoExamples, preferencePairs } from '../serve/feedback-dataset.ts';
import type { DatasetLibrary, DatasetMeta } from './datasets.ts';
import type { FeedbackFormat, FeedbackLineage, FeedbackLog, PlaygroundFeedback } from './feedback.ts';

export interface FeedbackDatasetRequest {
  /** Feedback on this run's answers (a pick counts for both of its runs); null: the base model's. */
  readonly runId: string | null;
  readonly format: FeedbackFormat;
  readonly name?: string;
}

/** The records about a run's answers. */
export function feedbackOn(records: readonly PlaygroundFeedback[], runId: string | null): PlaygroundFeedback[] {
  return records.filter((r) => r.adapter === runId || (r.action === 'pick' && r.preferred_adapter === runId));
}

/** The dataset rows (JSONL) the records make in a format. */
export function feedbackRows(records: readonly PlaygroundFeedback[], format: FeedbackFormat): unknown[] {
  return format === 'preference' ? preferencePairs(records) : ktoExamples(records);
}

export async function makeFeedbackDataset(
  log: FeedbackLog, datasets: DatasetLibrary, runName: string, req: FeedbackDatasetRequest,
): Promise<DatasetMeta> {
  const records = feedbackOn(await log.list(), req.runId);
  const rows = feedbackRows(records, req.format);
  if (rows.length === 0) {
    const need = req.format === 'preference'
      ? 'pick the better of two answers, edit an answer, or rate answers to one prompt both 👍 and 👎'
      : 'rate answers 👍 or 👎';
    throw new Error(`the feedback on ${runName} makes no ${req.format === 'preference' ? 'preference pairs' : 'KTO examples'} yet: ${need}`);
  }
  const bytes = new TextEncoder().encode(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const count = (a: PlaygroundFeedback['action']) => records.filter((r) => r.action === a).length;
  const lineage: FeedbackLineage = {
    runId: req.runId, runName, format: req.format, ratings: count('rating'), picks: count('pick'), edits: count('edit'),
  };
  const name = req.name?.trim() || `feedback on ${runName} (${req.format === 'preference' ? 'DPO pairs' : 'KTO'}).jsonl`;
  // Short answers: rows of the longest pair, not the SFT default's packing.
  return datasets.import(name, bytes, { packing: false, validationFraction: 0 }, lineage);
}
