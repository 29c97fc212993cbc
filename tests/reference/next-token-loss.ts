/** Mean next-token cross-entropy of logits [T, V] over sequences of S tokens (labels −100 skipped): the trainer's loss in float64. */
export function meanNextTokenLoss(logits: Float64Array, labels: readonly number[], S: number, V: number): number {
  let sum = 0;
  let n = 0;
  for (let t = 0; t < labels.length; t++) {
    if (t % S === S - 1) continue;
    const target = labels[t + 1]!;
    if (target < 0) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    sum += lse - row[target]!;
    n++;
  }
  return sum / n;
}
