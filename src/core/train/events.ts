/** What a run reports; the UI charts these and the CLI prints them. */
export type TrainEvent =
  | {
      readonly type: 'step';
      readonly step: number;
      readonly totalSteps: number;
      readonly epoch: number;
      /** Mean loss of this step's batch, before its update. */
      readonly loss: number;
      readonly lr: number;
      readonly gradNorm: number;
      readonly tokensPerSecond: number;
      /** Bytes on the GPU now and at the peak, from the memory ledger. */
      readonly gpuMemory: number;
      readonly gpuMemoryPeak: number;
      readonly elapsedMs: number;
      /** Method-specific metrics, named as TRL logs them (rewards/chosen, logps/rejected, ...). */
      readonly metrics?: Readonly<Record<string, number>>;
    }
  | { readonly type: 'eval'; readonly step: number; readonly valLoss: number; readonly valPerplexity: number; readonly best: boolean }
  | { readonly type: 'checkpoint'; readonly step: number }
  | { readonly type: 'alert'; readonly level: 'warning' | 'error'; readonly step: number; readonly message: string }
  | { readonly type: 'state'; readonly state: RunState; readonly step: number };

export type RunState = 'running' | 'paused' | 'stopped' | 'finished' | 'failed' | 'early-stopped';
