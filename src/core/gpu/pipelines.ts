import { ShaderStage } from './constants.ts';
/** Binding kinds of a kernel's group 0, in binding-index order. */
export type BindingKind = 'uniform' | 'read' | 'rw';

export interface KernelSpec {
  /** Family name, used in labels and errors. */
  readonly name: string;
  readonly code: string;
  readonly entry: string;
  readonly bindings: readonly BindingKind[];
  /** Pipeline-overridable constants (WGSL `override`). */
  readonly constants?: Readonly<Record<string, number>>;
}

/** Compiles each WGSL module and pipeline once; a lookup is a Map hit. */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  layout(bindings: readonly BindingKind[]): GPUBindGroupLayout {
    const key = bindings.join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: key,
        entries: bindings.map((kind, binding) => ({
          binding,
          visibility: ShaderStage.COMPUTE,
          buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  pipeline(spec: KernelSpec): Promise<GPUComputePipeline> {
    const key = `${spec.name}|${spec.entry}|${spec.bindings.join(',')}|${JSON.stringify(spec.constants ?? {})}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(spec);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async compile(spec: KernelSpec): Promise<GPUComputePipeline> {
    let module = this.modules.get(spec.code);
    if (!module) {
      module = this.device.createShaderModule({ label: spec.name, code: spec.code });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length) {
        throw new Error(
          `WGSL ${spec.name}: ${errors.map((m) => `line ${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`,
        );
      }
      this.modules.set(spec.code, module);
    }
    // createComputePipelineAsync never settles under Dawn for Node; the sync call in an error scope works everywhere.
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: `${spec.name}.${spec.entry}`,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(spec.bindings)] }),
      compute: { module, entryPoint: spec.entry, ...(spec.constants ? { constants: spec.constants as Record<string, number> } : {}) },
    });
    const error = await this.device.popErrorScope();
    if (error) throw new Error(`pipeline ${spec.name}.${spec.entry}: ${error.message}`);
    return pipeline;
  }
}
