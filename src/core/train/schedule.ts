/** Learning-rate schedules as transformers defines them (get_*_schedule_with_warmup). */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

/**
 * Multiplier of the base learning rate for the optimizer step that follows `done` completed
 * steps, out of `total` (LambdaLR semantics: the first step uses factor(0), so warmup starts at 0).
 */
export function lrFactor(kind: ScheduleKind, done: number, total: number, warmup: number): number {
  if (done < warmup) return done / Math.max(1, warmup);
  if (kind === 'constant') return 1;
  const progress = (done - warmup) / Math.max(1, total - warmup);
  if (kind === 'linear') return Math.max(0, (total - done) / Math.max(1, total - warmup));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
