/**
 * A model's LoRA-able modules and the ones a target choice picks, read from the model's own shape:
 * mixture-of-experts families list their experts' projections only when given the block shape, so
 * every caller (summaries, memory estimates, planners, run files, benches) goes through here.
 */
import { linearModules, resolveTargets, type LinearModule } from '../formats/peft.ts';
import type { ModelConfig } from './config.ts';

/** Every LoRA-able linear module of one block of this model, experts included, in block order. */
export function modelLinearModules(cfg: ModelConfig): readonly LinearModule[] {
  return linearModules(cfg.arch, cfg);
}

/** The modules `targets` ('all-linear', canonical ids or PEFT names) picks in this model, in block order. */
export function targetedModules(cfg: ModelConfig, targets: 'all-linear' | readonly string[]): LinearModule[] {
  const ids = resolveTargets(cfg.arch, targets === 'all-linear' ? 'all-linear' : [...targets], { shape: cfg });
  return modelLinearModules(cfg).filter((m) => ids.includes(m.id));
}

/** in/out features of each module `targets` picks: what the memory estimate and planner count per layer. */
export function targetedShapes(cfg: ModelConfig, targets: 'all-linear' | readonly string[]): { in: number; out: number }[] {
  return targetedModules(cfg, targets).map((m) => m.features(cfg));
}
