import type { ModelConfig } from '../model/config.ts';

/**
 * Which weights a full fine-tuning run trains (the rest stay bit-identical to the base).
 * Module groups are tabtune's fused tensors: attn (qkv + o), mlp (up + down), qkv, o, up, down,
 * norm (every norm), embed (embeddings, GPT-2 positions), head (an untied LM head).
 */
export interface FreezeOptions {
  /** Train only the last N decoder layers (and the final norm). */
  readonly trainLast?: number;
  /** Decoder layers that stay frozen. */
  readonly freezeLayers?: readonly number[];
  /** Only these module groups train (within the layers that train). */
  readonly trainModules?: readonly string[];
}

export const MODULE_GROUPS = ['attn', 'mlp', 'qkv', 'o', 'up', 'down', 'norm', 'embed', 'head'] as const;

/** The groups a parameter belongs to. */
function groupsOf(name: string): string[] {
  const site = /^layers\.\d+\.(qkv|o|up|down|ln1|ln2)\./.exec(name)?.[1];
  if (site === 'qkv' || site === 'o') return ['attn', site];
  if (site === 'up' || site === 'down') return ['mlp', site];
  if (site === 'ln1' || site === 'ln2' || name.startsWith('norm.')) return ['norm'];
  if (name.startsWith('embed.') || name === 'pos') return ['embed'];
  if (name.startsWith('head.')) return ['head'];
  return [];
}

/** A predicate over tabtune parameter names; throws RangeError naming the bad setting. */
export function trainsParameter(cfg: ModelConfig, o: FreezeOptions): (name: string) => boolean {
  const L = cfg.layers;
  if (o.trainLast !== undefined && (!Number.isInteger(o.trainLast) || o.trainLast < 1 || o.trainLast > L)) {
    throw new RangeError(`train-last must be between 1 and the model's ${L} layers, got ${o.trainLast}`);
  }
  for (const l of o.freezeLayers ?? []) {
    if (!Number.isInteger(l) || l < 0 || l >= L) throw new RangeError(`freeze-layers: layer ${l} is not in 0..${L - 1}`);
  }
  for (const m of o.trainModules ?? []) {
    if (!(MODULE_GROUPS as readonly string[]).includes(m)) throw new RangeError(`train-modules: "${m}" is not one of ${MODULE_GROUPS.join(', ')}`);
  }
  const frozenLayers = new Set(o.freezeLayers ?? []);
  const modules = o.trainModules ? new Set(o.trainModules) : null;
  return (name) => {
    const layer = /^layers\.(\d+)\./.exec(name);
    if (layer) {
      const l = Number(layer[1]);
      if (frozenLayers.has(l)) return false;
      if (o.trainLast !== undefined && l < L - o.trainLast) return false;
    } else if (o.trainLast !== undefined && !name.startsWith('norm.')) {
      // Training the last layers leaves the embeddings (and a head tied or not) as they are.
      return false;
    }
    return modules === null || groupsOf(name).some((g) => modules.has(g));
  };
}

/** Whether any freezing was asked for. */
export function freezes(o: FreezeOptions | undefined): o is FreezeOptions {
  return !!o && (o.trainLast !== undefined || !!o.freezeLayers?.length || !!o.trainModules?.length);
}
