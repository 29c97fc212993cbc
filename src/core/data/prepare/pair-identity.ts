/**
 * What makes two preference records the same for de-duplication: the whole pair (prompt, chosen
 * and rejected) or KTO example (prompt, completion, label), as `data prepare` compares them
 * (preference-prepare.ts). The record alone shows only the prompt and the chosen answer, so two
 * pairs that differ in their rejected answer would otherwise count as duplicates.
 */
import { turnsText } from '../preference-file.ts';
import type { Turns } from '../preference.ts';
import type { DataRecord, DatasetRecord } from '../records.ts';

/** The record to fingerprint: the whole pair as text for preference records, else the record itself. */
export function dedupIdentity(rec: DatasetRecord): DataRecord {
  const f = rec.fields as Record<string, unknown> | undefined;
  if (!f) return rec.record;
  const t = (k: string) => turnsText(f[k] as Turns);
  if ('chosen' in f && 'rejected' in f) return { kind: 'text', text: [t('prompt'), t('chosen'), t('rejected')].join('\n\u0001\n') };
  if ('completion' in f && 'label' in f) return { kind: 'text', text: [t('prompt'), t('completion'), String(f.label)].join('\n\u0001\n') };
  return rec.record;
}
