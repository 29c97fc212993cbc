/**
 * An exported chat page (.zip) opened by the app: its `model/` folder (the run's merged model)
 * becomes a local model folder, read in this tab like one picked from disk.
 */
import { unzipSync } from 'fflate';
import type { LocalFile } from '../../worker/api.ts';

export async function chatBundleModel(zip: File): Promise<{ name: string; files: LocalFile[] }> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(await zip.arrayBuffer()));
  } catch (e) {
    throw new Error(`${zip.name} is not a readable zip (${(e as Error).message})`);
  }
  const files: LocalFile[] = [];
  let name = '';
  for (const [path, bytes] of Object.entries(entries)) {
    const m = /^([^/]+)\/model\/([^/]+)$/.exec(path);
    if (!m) continue;
    name = m[1]!;
    files.push({ path: `${m[1]}/${m[2]}`, file: new Blob([bytes as Uint8Array<ArrayBuffer>]) });
  }
  if (!files.some((f) => f.path.endsWith('/config.json'))) throw new Error(`${zip.name} is not an exported chat page: it has no model/config.json`);
  return { name: name.replace(/-chat$/, ''), files };
}
