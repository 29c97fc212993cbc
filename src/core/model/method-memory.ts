/**
 * What each fine-tuning method adds to the base weights in training: its trainable parameters and
 * their state (f32 copies of the weights, gradients, AdamW's two moments — the same parts
 * memory.ts counts). Activations depend on batch and sequence, not on the method, and are left out;
 * a frozen part of the model holds no gradient or optimizer state.
 */

/** The methods the app offers, each a TrainConfig (method-choice.ts in the app builds it). */
export const METHOD_CHOICES = ['lora', 'rslora', 'dora', 'loraplus', 'pissa', 'freeze', 'half', 'full'] as const;
export type MethodChoice = (typeof METHOD_CHOICES)[number];

/** The model's shape as the app knows it (a ModelSummary has these). */
export interface MethodModelShape {
  readonly parameters: number;
  readonly layers: number;
  readonly hidden: number;
  /** The LoRA-able linear modules of one block, with in/out features. */
  readonly linearModules: readonly { readonly id: string; readonly in: number; readonly out: number }[];
}

export interface MethodSettings {
  readonly r: number;
  /** Canonical ids of the targeted modules; null: every linear module. */
  readonly targets: readonly string[] | null;
  /** Freeze: how many of the last layers train. */
  readonly trainLast: number;
}

export interface MethodMemory {
  /** Parameters that train (at one time: half fine-tuning trains half per round). */
  readonly trainable: number;
  /** Bytes beyond the base weights: the adapter (LoRA methods), gradients and AdamW moments, all f32. */
  readonly bytes: number;
}

const F32 = 4;

export function methodMemory(m: MethodModelShape, choice: MethodChoice, s: MethodSettings): MethodMemory {
  const picked = m.linearModules.filter((x) => !s.targets || s.targets.includes(x.id));
  if (choice === 'full' || choice === 'freeze' || choice === 'half') {
    // Per decoder layer: its linear weights and its two norms (a Llama block; GPT-2's biases are small).
    const perLayer = m.linearModules.reduce((n, x) => n + x.in * x.out, 0) + 2 * m.hidden;
    const trainable = choice === 'full' ? m.parameters
      : choice === 'freeze' ? Math.min(Math.max(0, s.trainLast), m.layers) * perLayer + m.hidden
        : Math.ceil(m.layers / 2) * perLayer;
    // The weights are already held; gradients and the two moments come on top.
    return { trainable, bytes: 3 * trainable * F32 };
  }
  let trainable = m.layers * picked.reduce((n, x) => n + s.r * (x.in + x.out), 0);
  // DoRA: one magnitude per output feature of every adapted module.
  if (choice === 'dora') trainable += m.layers * picked.reduce((n, x) => n + x.out, 0);
  // The adapter, its gradients and two moments (PiSSA's initial A and B wait on the CPU for the export).
  return { trainable, bytes: 4 * trainable * F32 };
}
