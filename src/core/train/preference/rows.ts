/**
 * Tokenized preference data → fixed-length training rows and each row's part: a pair gives two
 * consecutive rows (chosen, then rejected), so the trainer keeps them in one micro-batch.
 */
import type { TokenizedPreferences } from '../../data/preference.ts';
import type { Row } from '../../data/rows.ts';
import type { PreferenceMethod } from './method.ts';
import type { PreferenceRowInfo } from './objective.ts';

export interface PreferenceRows {
  readonly rows: Row[];
  readonly roles: PreferenceRowInfo['role'][];
}

function padded(e: { inputIds: readonly number[]; labels: readonly number[] }, seq: number, padId: number): Row {
  const inputIds = [...e.inputIds];
  const labels = [...e.labels];
  const tokens = inputIds.length;
  while (inputIds.length < seq) {
    inputIds.push(padId);
    labels.push(-100);
  }
  return { inputIds, labels, tokens };
}

/** The longest row, for choosing the sequence length. */
export function longestRow(data: TokenizedPreferences): number {
  const lens = [
    ...data.pairs.flatMap((p) => [p.chosen.inputIds.length, p.rejected.inputIds.length]),
    ...data.unpaired.map((u) => u.completion.inputIds.length),
  ];
  return Math.max(2, ...lens);
}

export function preferenceRows(data: TokenizedPreferences, method: PreferenceMethod, seq: number, padId: number): PreferenceRows {
  const rows: Row[] = [];
  const roles: PreferenceRowInfo['role'][] = [];
  if (method === 'kto') {
    if (data.unpaired.length === 0) throw new Error('KTO trains on {"prompt", "completion", "label"} examples; the data has none');
    for (const u of data.unpaired) {
      rows.push(padded(u.completion, seq, padId));
      roles.push(u.label ? 'desirable' : 'undesirable');
    }
    return { rows, roles };
  }
  if (data.pairs.length === 0) throw new Error(`${method.toUpperCase()} trains on {"prompt", "chosen", "rejected"} pairs; the data has none`);
  for (const p of data.pairs) {
    rows.push(padded(p.chosen, seq, padId), padded(p.rejected, seq, padId));
    roles.push('chosen', 'rejected');
  }
  return { rows, roles };
}
