import { BASE_QUANTS, type BaseQuant } from '../core/model/base-quant.ts';
import { UsageError } from './args.ts';

/** `--quant` for commands that load a base (train, eval, generate). */
export const QUANT_FLAG = {
  name: 'quant', kind: 'string', value: 'none|int8|int4', choices: BASE_QUANTS,
  help: 'hold the base\'s linear weights quantised: int8 per row, or int4 = NF4 per 64 inputs (QLoRA; LoRA only)',
} as const;

/** The base quantisation from `--quant` and the older `--int8` (which may not disagree); a quantised base is frozen. */
export function baseQuant(o: { readonly quant?: string; readonly int8?: boolean }, tune: 'lora' | 'full' = 'lora'): BaseQuant {
  if (o.int8 && o.quant !== undefined && o.quant !== 'int8') throw new UsageError(`--int8 and --quant ${o.quant} disagree; give one`);
  const quant = (o.quant as BaseQuant | undefined) ?? (o.int8 ? 'int8' : 'none');
  if (quant !== 'none' && tune === 'full') throw new UsageError(`--quant ${quant} holds the base frozen; it trains with LoRA only (--method lora)`);
  return quant;
}
