import type { DatasetRecord } from '../data/records.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { PreviewRow, PreviewToken } from './api.ts';
import type { TrainingData } from '../pipeline/training-data.ts';

/**
 * Examples as the model sees them: each token's text (the growth of the decoded string, so
 * multi-byte characters stay whole) and whether it carries loss.
 */
export function previewRows(records: readonly DatasetRecord[], data: TrainingData, tok: Tokenizer, offset: number, count: number): PreviewRow[] {
  const validation = new Set(data.split.validation);
  const rows: PreviewRow[] = [];
  for (let i = offset; i < Math.min(data.examples.length, offset + count); i++) {
    const e = data.examples[i]!;
    const record = records[data.recordOf[i]!];
    const tokens: PreviewToken[] = [];
    let text = '';
    for (let k = 0; k < e.inputIds.length; k++) {
      const full = tok.decode(e.inputIds.slice(0, k + 1));
      const whole = !full.endsWith('\uFFFD');
      tokens.push({ id: e.inputIds[k]!, text: whole ? full.slice(text.length) : '', trained: k > 0 && e.labels[k] !== -100 });
      if (whole) text = full;
    }
    rows.push({
      index: i, source: e.source, kind: record?.record.kind ?? 'text', text, tokens, truncated: e.truncated === true,
      split: validation.has(i) ? 'validation' : 'train', ...(record?.generated ? { generated: true } : {}),
    });
  }
  return rows;
}
