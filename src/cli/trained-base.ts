import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantExportNote, type BaseQuant } from '../core/model/base-quant.ts';

/**
 * How the base was held when the adapter in `dir` was trained, from the run_manifest.json that
 * `tabtune train` writes beside it ('none' when there is none: a PEFT folder from elsewhere).
 */
export function trainedBaseQuant(dir: string): BaseQuant {
  const file = join(dir, 'run_manifest.json');
  if (!existsSync(file)) return 'none';
  try {
    const quant = (JSON.parse(readFileSync(file, 'utf8')) as { config?: { quant?: unknown } }).config?.quant;
    return quant === 'int8' || quant === 'int4' ? quant : 'none';
  } catch {
    // An unreadable manifest says nothing about the base; the adapter itself is read and checked elsewhere.
    return 'none';
  }
}

/** The QLoRA note for an adapter folder trained against a quantised base, or null. */
export function trainedBaseNote(dir: string): string | null {
  return quantExportNote(trainedBaseQuant(dir));
}
