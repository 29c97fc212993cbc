/**
 * The sparse mixture-of-experts MLP of Mixtral / Qwen2-MoE / OLMoE as config.json describes it: a router
 * (a linear layer to one logit per expert), softmax over the experts, the top-k of them, each a
 * SwiGLU MLP, their outputs summed with the (optionally renormalised) top-k probabilities, and,
 * for Qwen2-MoE, a shared expert scaled by sigmoid(shared_expert_gate(x)).
 */
import type { ConfigReader } from './arch/config-reader.ts';

export interface MoeConfig {
  /** num_local_experts (Mixtral) / num_experts (Qwen2-MoE). */
  readonly experts: number;
  /** num_experts_per_tok. */
  readonly topK: number;
  /** Divide the top-k probabilities by their sum (Mixtral always; Qwen2-MoE: norm_topk_prob). */
  readonly normTopK: boolean;
  /** Width of each expert's SwiGLU (Mixtral: intermediate_size; Qwen2-MoE: moe_intermediate_size). */
  readonly expertInner: number;
  /** Width of the shared expert (Qwen2-MoE: shared_expert_intermediate_size); 0 when there is none. */
  readonly sharedInner: number;
  /** router_aux_loss_coef: weight of the load-balancing loss added to the training loss. */
  readonly auxCoef: number;
  /** How the family names its MoE tensors in checkpoints and PEFT keys (OLMoE names them as Qwen2-MoE does). */
  readonly naming: 'mixtral' | 'qwen2_moe';
}

/** Router settings of other MoE families that change the math and that tabtune does not implement. */
const FOREIGN_ROUTER_FIELDS: readonly [string, string][] = [
  ['topk_method', 'grouped / node-limited top-k routing (DeepSeek) is not supported'],
  ['n_group', 'grouped top-k routing (DeepSeek) is not supported'],
  ['topk_group', 'grouped top-k routing (DeepSeek) is not supported'],
  ['moe_layer_freq', 'MoE on only some layers (moe_layer_freq) is not supported'],
  ['first_k_dense_replace', 'dense first layers (first_k_dense_replace) are not supported'],
  ['n_shared_experts', 'DeepSeek-style shared experts are not supported'],
  ['scoring_func', 'router scoring other than softmax is not supported'],
  ['routed_scaling_factor', 'a routed scaling factor is not supported'],
];

/** Refuses router fields that belong to MoE designs tabtune does not run, naming the field. */
export function refuseForeignRouter(r: ConfigReader): void {
  for (const [key, why] of FOREIGN_ROUTER_FIELDS) {
    if (!r.has(key)) continue;
    if (key === 'scoring_func' && r.json[key] === 'softmax') continue;
    r.fail(key, `${why} (tabtune routes with softmax top-k as Mixtral / Qwen2-MoE do)`);
  }
}

/** Mixtral (MixtralConfig defaults): top-k always renormalised, no shared expert. */
export function mixtralMoe(r: ConfigReader, expertInner: number): MoeConfig {
  refuseForeignRouter(r);
  const jitter = r.num('router_jitter_noise', 0);
  if (jitter !== 0) r.fail('router_jitter_noise', `router jitter noise ${jitter} is not supported (only 0)`);
  return checked(r, {
    experts: r.int('num_local_experts', 8), topK: r.int('num_experts_per_tok', 2), normTopK: true, expertInner, sharedInner: 0,
    auxCoef: r.num('router_aux_loss_coef', 0.001), naming: 'mixtral',
  }, 'num_local_experts');
}

/** Qwen2-MoE (Qwen2MoeConfig defaults): norm_topk_prob, a shared expert with its sigmoid gate, every layer sparse. */
export function qwen2MoeMoe(r: ConfigReader): MoeConfig {
  refuseForeignRouter(r);
  if (r.int('decoder_sparse_step', 1) !== 1) r.fail('decoder_sparse_step', 'only every layer sparse (decoder_sparse_step 1) is supported');
  const dense = r.json['mlp_only_layers'];
  if (Array.isArray(dense) && dense.length > 0) r.fail('mlp_only_layers', `dense MLP layers ${JSON.stringify(dense)} are not supported`);
  return checked(r, {
    experts: r.int('num_experts', 60), topK: r.int('num_experts_per_tok', 4), normTopK: r.bool('norm_topk_prob', false),
    expertInner: r.int('moe_intermediate_size', 1408), sharedInner: r.int('shared_expert_intermediate_size', 5632),
    auxCoef: r.num('router_aux_loss_coef', 0.001), naming: 'qwen2_moe',
  }, 'num_experts');
}

/** OLMoE (OlmoeConfig defaults): 64 experts top-8, norm_topk_prob false, experts intermediate_size wide, no shared expert. */
export function olmoeMoe(r: ConfigReader): MoeConfig {
  refuseForeignRouter(r);
  return checked(r, {
    experts: r.int('num_experts', 64), topK: r.int('num_experts_per_tok', 8), normTopK: r.bool('norm_topk_prob', false),
    expertInner: r.int('intermediate_size', 2048), sharedInner: 0, auxCoef: r.num('router_aux_loss_coef', 0.01), naming: 'qwen2_moe',
  }, 'num_experts');
}

function checked(r: ConfigReader, m: MoeConfig, expertsKey: string): MoeConfig {
  if (m.topK > m.experts) r.fail('num_experts_per_tok', `${m.topK} experts per token but only ${m.experts} experts`);
  // The router kernel keeps one token's expert probabilities in registers.
  if (m.experts > 256) r.fail(expertsKey, `${m.experts} experts; tabtune routes among at most 256`);
  if (m.auxCoef < 0) r.fail('router_aux_loss_coef', `must be 0 or more, got ${m.auxCoef}`);
  return m;
}

/** Parameter names of the MoE MLP of layer l in tabtune's layout (layout.ts). */
export const routerParam = (l: number): string => `layers.${l}.router.weight`;
/** Expert e of layer l; e = experts is the shared expert. */
export const expertStem = (l: number, e: number, m: MoeConfig): string => (e < m.experts ? `layers.${l}.experts.${e}` : `layers.${l}.shared`);
/** The router's rows: one per expert, plus the shared expert's gate. */
export const routerRows = (m: MoeConfig): number => m.experts + (m.sharedInner > 0 ? 1 : 0);
/** Experts of one layer including the shared one. */
export const expertCount = routerRows;
export const expertInner = (m: MoeConfig, e: number): number => (e < m.experts ? m.expertInner : m.sharedInner);
