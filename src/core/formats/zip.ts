import { zipSync } from 'fflate';

/** A .zip holding `files` under one folder (what a user unpacks next to their other models). */
export function zipFolder(folder: string, files: Readonly<Record<string, Uint8Array>>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(files)) entries[`${folder}/${name}`] = bytes;
  return zipSync(entries, { level: 6 });
}
