/**
 * Where a mixture-of-experts MLP lives among tabtune's parameters and in Hugging Face checkpoints.
 * Per layer: `router.weight` [experts (+1), H] (the shared expert's gate is its last row), and per
 * expert (the shared one as `shared`) `up.weight` = gate|up [2·inner, H] and `down.weight` [H, inner].
 */
import type { Dims, ModelConfig, PlacementBuilder } from './arch/types.ts';
import { expertCount, expertInner, expertStem, routerParam, routerRows, type MoeConfig } from './moe-config.ts';
import type { ParamSpec } from './param-store.ts';

/** The HF module path of the MoE block and of expert e (`shared_expert` for the shared one). */
export function hfExpertPath(m: MoeConfig, e: number): string {
  if (m.naming === 'mixtral') return `block_sparse_moe.experts.${e}`;
  return e < m.experts ? `mlp.experts.${e}` : 'mlp.shared_expert';
}

/** HF names of an expert's gate, up and down projections. */
export function hfExpertProjections(m: MoeConfig): { gate: string; up: string; down: string } {
  return m.naming === 'mixtral' ? { gate: 'w1', up: 'w3', down: 'w2' } : { gate: 'gate_proj', up: 'up_proj', down: 'down_proj' };
}

export function moeParamSpecs(cfg: ModelConfig, l: number): ParamSpec[] {
  const m = cfg.moe!;
  const H = cfg.hidden;
  const specs: ParamSpec[] = [{ name: routerParam(l), shape: [routerRows(m), H], decay: true }];
  for (let e = 0; e < expertCount(m); e++) {
    const I = expertInner(m, e);
    const stem = expertStem(l, e, m);
    specs.push({ name: `${stem}.up.weight`, shape: [2 * I, H], decay: true }, { name: `${stem}.down.weight`, shape: [H, I], decay: true });
  }
  return specs;
}

/** The HF tensors of layer l's MoE block (`l` is the HF layer prefix, e.g. `layers.3`). */
export function placeMoe(cfg: ModelConfig, d: Dims, i: number, { whole, stacked }: PlacementBuilder): void {
  const m = cfg.moe!;
  const l = `layers.${i}`;
  const block = m.naming === 'mixtral' ? 'block_sparse_moe' : 'mlp';
  const router = [{ hf: `${l}.${block}.gate.weight`, rows: m.experts }];
  if (m.sharedInner > 0) router.push({ hf: `${l}.mlp.shared_expert_gate.weight`, rows: 1 });
  stacked(routerParam(i), router, d.H);
  const names = hfExpertProjections(m);
  for (let e = 0; e < expertCount(m); e++) {
    const I = expertInner(m, e);
    const path = `${l}.${hfExpertPath(m, e)}`;
    const stem = expertStem(i, e, m);
    stacked(`${stem}.up.weight`, [{ hf: `${path}.${names.gate}.weight`, rows: I }, { hf: `${path}.${names.up}.weight`, rows: I }], d.H);
    whole(`${path}.${names.down}.weight`, [d.H, I], `${stem}.down.weight`);
  }
}
