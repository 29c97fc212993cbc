/** What a GPU allocation is for; the ledger sums bytes per purpose and keeps the peak. */
export type Purpose =
  | 'weights'
  | 'activations'
  | 'gradients'
  | 'optimizer'
  | 'kv-cache'
  | 'inputs'
  | 'staging'
  | 'uniforms'
  | 'scratch'
  | 'pooled';

export class MemoryLedger {
  private readonly bytes = new Map<Purpose, number>();
  private current = 0;
  private peakBytes = 0;

  add(purpose: Purpose, size: number): void {
    this.bytes.set(purpose, (this.bytes.get(purpose) ?? 0) + size);
    this.current += size;
    if (this.current > this.peakBytes) this.peakBytes = this.current;
  }

  remove(purpose: Purpose, size: number): void {
    this.bytes.set(purpose, (this.bytes.get(purpose) ?? 0) - size);
    this.current -= size;
  }

  get total(): number {
    return this.current;
  }

  get peak(): number {
    return this.peakBytes;
  }

  /** Starts a new peak measurement from the current total (e.g. before one training step). */
  resetPeak(): void {
    this.peakBytes = this.current;
  }

  byPurpose(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.bytes) if (v !== 0) out[k] = v;
    return out;
  }
}
