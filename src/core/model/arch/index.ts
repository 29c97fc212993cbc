/** The model families tabtune runs, each declared in one file. */
import { InputError } from '../../errors.ts';
import { GEMMA3 } from './gemma3.ts';
import { GPT2 } from './gpt2.ts';
import { LLAMA } from './llama.ts';
import { MIXTRAL } from './mixtral.ts';
import { OLMOE } from './olmoe.ts';
import { QWEN2 } from './qwen2.ts';
import { QWEN2_MOE } from './qwen2-moe.ts';
import { QWEN3 } from './qwen3.ts';
import type { ArchSpec, Architecture } from './types.ts';

export const ARCHITECTURES: readonly ArchSpec[] = [GPT2, LLAMA, QWEN2, QWEN3, GEMMA3, MIXTRAL, QWEN2_MOE, OLMOE];

/** The declaration of a registered architecture. */
export function archSpec(arch: Architecture): ArchSpec {
  const spec = ARCHITECTURES.find((a) => a.modelType === arch);
  if (!spec) throw new Error(`no architecture "${arch}" is registered`);
  return spec;
}

/** The family of a config.json: by `model_type`, else by the classes named in `architectures`. */
export function detectArch(file: string, json: Record<string, unknown>): ArchSpec {
  const modelType = json['model_type'];
  if (modelType === 'gemma3') {
    const why = 'Gemma3ForConditionalGeneration (image and text) is not supported: use a text-only Gemma 3 checkpoint (model_type gemma3_text)';
    throw new InputError(file, why, 'model_type');
  }
  const byType = ARCHITECTURES.find((a) => a.modelType === modelType);
  if (byType) return byType;
  const classes = Array.isArray(json['architectures']) ? json['architectures'].filter((c): c is string => typeof c === 'string') : [];
  for (const c of classes) {
    const byClass = ARCHITECTURES.find((a) => a.classes.includes(c));
    if (byClass) return byClass;
  }
  const seen = [
    typeof modelType === 'string' ? `model_type ${JSON.stringify(modelType)}` : 'no model_type',
    classes.length ? `architectures ${classes.join(', ')}` : 'no architectures',
  ].join(', ');
  const supported = ARCHITECTURES.map((a) => `${a.modelType} (${a.classes[0]})`).join(', ');
  throw new InputError(file, `unsupported architecture (${seen}); supported: ${supported}`, 'model_type');
}
