/** The end of a training command: its job run to the end, a failed run refused, the written run reported. */
import { InputError } from '../core/errors.ts';
import type { TrainJob } from '../core/pipeline/train-job.ts';
import type { TrainSummary } from '../core/train/trainer.ts';
import type { Output } from './output.ts';

/**
 * Runs `job` to its end (the progress line cleared and the job's GPU memory freed whatever happens); a failed
 * run, or one that trained nothing, is an InputError on `input` with the run's message, so nothing gets written.
 */
export async function trainToEnd(job: TrainJob, out: Output, input: string): Promise<{ summary: TrainSummary; files: Record<string, Uint8Array> }> {
  try {
    const { summary, files } = await job.run();
    if (summary.state === 'failed' || !files) throw new InputError(input, summary.message ?? 'the run failed');
    return { summary, files };
  } finally {
    out.clearProgress();
    job.destroy();
  }
}

/** The `done` record and line of a run whose files were written to `outDir`. */
export function reportWritten(out: Output, summary: TrainSummary, files: Record<string, Uint8Array>, outDir: string): void {
  out.record({ done: { state: summary.state, steps: summary.steps, final_loss: summary.finalLoss, out: outDir } });
  out.say(`${summary.state} after ${summary.steps} steps; wrote ${Object.keys(files).join(', ')} to ${outDir}`);
}
