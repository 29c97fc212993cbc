import type { DatasetRecord } from './records.ts';

/** A record as a JSON object in the conventional field names (TRL / Axolotl), with its other fields. */
export function recordToJson(rec: DatasetRecord): Record<string, unknown> {
  const r = rec.record;
  const base: Record<string, unknown> =
    r.kind === 'text' ? { text: r.text }
      : r.kind === 'prompt' ? { prompt: r.prompt, completion: r.completion }
        : r.kind === 'chat' ? { messages: r.messages }
          : { input_ids: r.inputIds, ...(r.labels ? { labels: r.labels } : {}) };
  const out: Record<string, unknown> = { ...(rec.fields ?? {}), ...base };
  if (rec.generated) out['generated'] = rec.generated.method;
  return out;
}

/** Records as JSONL text (one object per line). */
export function toJsonl(records: readonly DatasetRecord[]): string {
  return records.map((r) => JSON.stringify(recordToJson(r))).join('\n') + (records.length ? '\n' : '');
}
