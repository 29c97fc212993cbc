/**
 * Preference files (TRL's {prompt, chosen, rejected} pairs, or KTO's {prompt, completion, label})
 * as workspace datasets. Each pair is kept whole in the record's fields (what preference training
 * reads), and shown as its prompt with the chosen answer (what the preview, statistics, data
 * preparation and an SFT run see).
 */
import type { ImportResult } from '../data/import.ts';
import { parsePreferenceDataset, type PreferenceImport, type Turns } from '../data/preference.ts';
import { detectFormat } from '../data/parsers.ts';
import type { DataRecord, DatasetRecord, RecordKind } from '../data/records.ts';

export type PreferenceKind = 'paired' | 'unpaired';

export interface PreferenceFileImport extends ImportResult {
  readonly preference: PreferenceKind;
}

function shown(prompt: Turns, answer: Turns): DataRecord {
  if (typeof prompt === 'string' && typeof answer === 'string') return { kind: 'prompt', prompt, completion: answer };
  const asMessages = (t: Turns) => (typeof t === 'string' ? [{ role: 'user', content: t }] : t);
  return { kind: 'chat', messages: [...asMessages(prompt), ...(typeof answer === 'string' ? [{ role: 'assistant', content: answer }] : answer)] };
}

/** The file as preference data, or null when it is not (then it imports as SFT data). */
export function preferenceImport(name: string, bytes: Uint8Array): PreferenceFileImport | null {
  let text: string;
  let data: PreferenceImport;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    data = parsePreferenceDataset(name, text);
  } catch {
    return null;
  }
  // prompt/completion SFT rows look unpaired but carry no label: none of them reads as KTO.
  if (data.pairs.length + data.unpaired.length === 0) return null;
  const records: DatasetRecord[] = [
    ...data.pairs.map(({ source, ...pair }) => ({ record: shown(pair.prompt, pair.chosen), source, fields: { ...pair } })),
    ...data.unpaired.map(({ source, ...ex }) => ({ record: shown(ex.prompt, ex.completion), source, fields: { ...ex } })),
  ];
  const kinds: Record<RecordKind, number> = { text: 0, prompt: 0, chat: 0, tokens: 0 };
  for (const r of records) kinds[r.record.kind]++;
  const detected = kinds.chat > kinds.prompt ? 'chat' : 'prompt';
  const paired = data.kind === 'paired';
  return {
    records, problems: data.problems, format: detectFormat(name, text), detected, kinds,
    columns: paired ? ['prompt', 'chosen', 'rejected'] : ['prompt', 'completion', 'label'], recognised: null,
    preference: paired ? 'paired' : 'unpaired',
  };
}

/** The pairs and KTO examples of a preference dataset's records (any version: preparation keeps the fields). */
export function preferenceData(records: readonly DatasetRecord[]): Pick<PreferenceImport, 'pairs' | 'unpaired'> {
  const out: Pick<PreferenceImport, 'pairs' | 'unpaired'> = { pairs: [], unpaired: [] };
  for (const r of records) {
    const f = r.fields as Record<string, unknown> | undefined;
    if (!f) continue;
    if ('chosen' in f) out.pairs.push({ prompt: f.prompt as Turns, chosen: f.chosen as Turns, rejected: f.rejected as Turns, source: r.source });
    else if ('label' in f) out.unpaired.push({ prompt: f.prompt as Turns, completion: f.completion as Turns, label: f.label === true, source: r.source });
  }
  return out;
}
