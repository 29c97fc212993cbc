import type { BaseQuant } from '../core/model/base-quant.ts';
import { UsageError } from './args.ts';

/** The base quantisation from `--quant` and the older `--int8` (which may not disagree); a quantised base is frozen. */
export function baseQuant(o: { readonly quant?: string; readonly int8?: boolean }, tune: 'lora' | 'full' = 'lora'): BaseQuant {
  if (o.int8 && o.quant !== undefined && o.quant !== 'int8') throw new UsageError(`--int8 and --quant ${o.quant} disagree; give one`);
  const quant = (o.quant as BaseQuant | undefined) ?? (o.int8 ? 'int8' : 'none');
  if (quant !== 'none' && tune === 'full') throw new UsageError(`--quant ${quant} holds the base frozen; it trains with LoRA only (--method lora)`);
  return quant;
}
