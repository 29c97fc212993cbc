/**
 * The training method beyond the LoRA/full choice: SFT, or a preference method (DPO, ORPO,
 * SimPO, KTO) with TRL's hyperparameters, kept in localStorage; or GRPO, whose settings and
 * reward functions are in grpo.svelte.ts.
 */
import type { PreferenceSettings, RunSettings } from '../../worker/api.ts';
import { grpo } from './grpo.svelte.ts';

export type AppMethod = 'sft' | 'dpo' | 'orpo' | 'simpo' | 'kto' | 'grpo' | 'cpt';

export const APP_METHODS: readonly { value: AppMethod; label: string }[] = [
  { value: 'sft', label: 'SFT: learn the answers in the data' },
  { value: 'dpo', label: 'DPO: prefer chosen over rejected (reference: adapter off)' },
  { value: 'orpo', label: 'ORPO: SFT plus an odds-ratio preference term' },
  { value: 'simpo', label: 'SimPO: length-normalised preference, no reference' },
  { value: 'kto', label: 'KTO: liked and disliked answers, unpaired' },
  { value: 'grpo', label: 'GRPO: sample answers, score them with your reward function' },
  { value: 'cpt', label: 'Continued pre-training (new knowledge): learn raw documents' },
];

const KEY = 'tabtune.objective';

interface Saved {
  method: AppMethod;
  beta: number;
  lossType: 'sigmoid' | 'ipo';
  simpoGamma: number;
  /** DPO's rpo_alpha; 0 is off (TRL's None). */
  rpoAlpha: number;
}

/** TRL's defaults (DPOConfig beta 0.1 and rpo_alpha None, CPOConfig simpo_gamma 0.5). */
const DEFAULTS: Saved = { method: 'sft', beta: 0.1, lossType: 'sigmoid', simpoGamma: 0.5, rpoAlpha: 0 };

function load(): Saved {
  try {
    return { ...DEFAULTS, ...(JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<Saved> | null ?? {}) };
  } catch {
    return { ...DEFAULTS };
  }
}

class ObjectiveStore {
  private readonly saved = load();
  method = $state<AppMethod>(this.saved.method);
  beta = $state(this.saved.beta);
  lossType = $state<'sigmoid' | 'ipo'>(this.saved.lossType);
  simpoGamma = $state(this.saved.simpoGamma);
  rpoAlpha = $state(this.saved.rpoAlpha);

  /** The data the method needs: paired (chosen/rejected) or unpaired (KTO), none for SFT. */
  get needs(): 'paired' | 'unpaired' | null {
    return this.method === 'sft' || this.method === 'cpt' || this.method === 'grpo' ? null : this.method === 'kto' ? 'unpaired' : 'paired';
  }

  save(): void {
    try {
      const s: Saved = { method: this.method, beta: this.beta, lossType: this.lossType, simpoGamma: this.simpoGamma, rpoAlpha: this.rpoAlpha };
      localStorage.setItem(KEY, JSON.stringify(s));
    } catch {
      /* storage full or private mode */
    }
  }

  /** What a run's settings add for the method (nothing for SFT). */
  runSettings(): Pick<RunSettings, 'preference' | 'grpo'> {
    if (this.method === 'sft' || this.method === 'cpt') return {};
    if (this.method === 'grpo') return { grpo: grpo.runSettings() };
    const preference: PreferenceSettings = {
      method: this.method, beta: this.beta,
      // rpo_alpha 0 is left out (off, as TRL's None); anything else goes to the run, which checks it.
      ...(this.method === 'dpo' ? { lossType: this.lossType, ...(this.rpoAlpha !== 0 ? { rpoAlpha: this.rpoAlpha } : {}) } : {}),
      ...(this.method === 'simpo' ? { simpoGamma: this.simpoGamma } : {}),
    };
    return { preference };
  }
}

export const objective = new ObjectiveStore();
