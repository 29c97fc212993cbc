import { memoryTree } from '../formats/bytes.ts';
import type { LoraOptions } from '../model/lora.ts';
import { initPissa, restorePissaBase } from '../model/pissa.ts';
import { pissaIterations } from '../model/pissa-export.ts';
import type { Session } from '../session.ts';

/** After a fresh adapter is attached: PiSSA's SVD init (the base becomes the residual) when asked. */
export async function startPissa(session: Session, lora: LoraOptions, seed: number, fromAdapter: boolean): Promise<void> {
  if (!pissaIterations(lora.init)) return;
  if (fromAdapter) throw new Error('PiSSA initialises a new adapter; it cannot start from an existing one (--init-adapter)');
  await initPissa(session.requireModel(), lora.init!, seed);
}

/**
 * After a PiSSA run: the session goes back to the original base with the adapter in its plain
 * rank-2r LoRA form (what the export holds), so nothing later sees a residual base.
 */
export async function settlePissa(session: Session): Promise<void> {
  const model = session.requireModel();
  const lora = model.lora;
  if (!lora?.pissaInitial) return;
  const files = await lora.save(model.gpu, null);
  await restorePissaBase(model, lora);
  await session.loadAdapter(memoryTree('adapter', files));
}
