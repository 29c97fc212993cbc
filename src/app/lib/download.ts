import type { ExportedFile } from '../../worker/api.ts';

/** Saves a file the Worker made: a Blob behind an <a download>, clicked once. */
export function saveFile(file: ExportedFile): void {
  const blob = new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.mime });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
