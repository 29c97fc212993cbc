/**
 * Files from the user's disk: a dropped folder (DataTransfer entries), a picked folder
 * (<input webkitdirectory> or showDirectoryPicker) or single files. Nothing leaves the tab:
 * Files are handed to the Worker as Blobs.
 */
import type { LocalFile } from '../../worker/api.ts';

/** Files of an <input type=file webkitdirectory>, with their paths inside the folder. */
export function fromInput(list: FileList | null): LocalFile[] {
  return [...(list ?? [])].map((f) => ({ path: f.webkitRelativePath || f.name, file: f }));
}

/** The folder name of a set of files (their common first path part), or a fallback. */
export function folderName(files: readonly LocalFile[], fallback = 'local model'): string {
  const first = files[0]?.path.split('/');
  if (first && first.length > 1 && files.every((f) => f.path.startsWith(`${first[0]}/`))) return first[0]!;
  return fallback;
}

async function readEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return all;
    all.push(...batch);
  }
}

async function walkEntry(entry: FileSystemEntry, prefix: string, out: LocalFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: prefix + entry.name, file });
  } else if (entry.isDirectory) {
    for (const child of await readEntries(entry as FileSystemDirectoryEntry)) await walkEntry(child, `${prefix}${entry.name}/`, out);
  }
}

/** Everything dropped (folders walked), with paths. */
export async function fromDrop(dt: DataTransfer): Promise<LocalFile[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return [...dt.files].map((f) => ({ path: f.name, file: f }));
  const out: LocalFile[] = [];
  for (const e of entries) await walkEntry(e, '', out);
  return out;
}

type DirectoryHandle = { name: string; values(): AsyncIterable<{ kind: 'file' | 'directory'; name: string; getFile?(): Promise<File> }> };

export const hasDirectoryPicker = typeof window !== 'undefined' && 'showDirectoryPicker' in window;

/** The File System Access folder picker (Chromium); null when the user cancels. */
export async function pickDirectory(): Promise<{ name: string; files: LocalFile[] } | null> {
  const picker = (window as unknown as { showDirectoryPicker(o?: unknown): Promise<DirectoryHandle> }).showDirectoryPicker;
  let root: DirectoryHandle;
  try {
    root = await picker.call(window, { mode: 'read' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') return null;
    throw e;
  }
  const files: LocalFile[] = [];
  const walk = async (dir: DirectoryHandle, prefix: string) => {
    for await (const h of dir.values()) {
      if (h.kind === 'file') files.push({ path: `${prefix}${h.name}`, file: await h.getFile!() });
      else await walk(h as unknown as DirectoryHandle, `${prefix}${h.name}/`);
    }
  };
  await walk(root, `${root.name}/`);
  return { name: root.name, files };
}

/** Reads a File's bytes (for dataset imports, which the Worker parses and stores). */
export async function fileBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
