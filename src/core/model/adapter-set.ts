/**
 * Several LoRA adapters over one base model. The base weights stay where they are; using an
 * adapter points the model at that adapter's own tensors (its own rank, targets, DoRA or not),
 * so switching reloads nothing. Adapters with different target modules or ranks are allowed:
 * each applies exactly what its adapter_config.json says.
 */
import { InputError } from '../errors.ts';
import type { LoraAdapter } from './lora.ts';
import type { Transformer } from './transformer.ts';

/** Adapter names as users give them (`--adapter NAME=DIR`): no commas or "=", not blank. */
const NAME = /^[^,=\s](?:[^,=]*[^,=\s])?$/;

export class AdapterSet {
  private readonly adapters = new Map<string, LoraAdapter>();
  /** The adapter the model uses now; null: the base model alone. */
  active: string | null = null;

  get names(): string[] {
    return [...this.adapters.keys()];
  }

  get size(): number {
    return this.adapters.size;
  }

  has(name: string): boolean {
    return this.adapters.has(name);
  }

  add(name: string, adapter: LoraAdapter): void {
    if (!NAME.test(name)) throw new InputError(`adapter "${name}"`, 'an adapter name is not blank and has no "," or "="');
    if (this.adapters.has(name)) throw new InputError(`adapter "${name}"`, 'this name is given twice; name each adapter once (NAME=DIR)');
    this.adapters.set(name, adapter);
  }

  get(name: string): LoraAdapter {
    const a = this.adapters.get(name);
    if (!a) throw new InputError(`adapter "${name}"`, `not loaded; the loaded adapters are ${this.names.join(', ') || 'none'}`);
    return a;
  }

  /** Points the model at one adapter (or none); the adapters' and the base's tensors are untouched. */
  use(model: Transformer, name: string | null): void {
    model.lora = name === null ? null : this.get(name);
    this.active = name;
  }

  /** Detaches the model and frees every adapter (never the base). */
  destroy(model: Transformer | null): void {
    if (model && [...this.adapters.values()].includes(model.lora!)) model.lora = null;
    for (const a of this.adapters.values()) a.destroy();
    this.adapters.clear();
    this.active = null;
  }
}
