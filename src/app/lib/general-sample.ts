/**
 * The general text a continued pre-training run is scored on before and after (forgetting shows
 * there): the CLI's default, public/datasets/general-sample.jsonl, served with the app.
 */
import type { CptRequest } from '../../worker/api.ts';

export const GENERAL_SAMPLE = { path: 'datasets/general-sample.jsonl', name: 'general-sample.jsonl' } as const;

export async function generalSample(): Promise<CptRequest['general']> {
  const res = await fetch(new URL(GENERAL_SAMPLE.path, document.baseURI));
  if (!res.ok) throw new Error(`${GENERAL_SAMPLE.path}: HTTP ${res.status}`);
  return { name: GENERAL_SAMPLE.name, bytes: new Uint8Array(await res.arrayBuffer()) };
}
