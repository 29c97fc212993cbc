import { create, globals } from 'webgpu';
import { openGpu, type Gpu, type OpenOptions } from '../core/gpu/gpu.ts';

Object.assign(globalThis, globals);
process.env.XDG_RUNTIME_DIR ??= '/tmp';

export interface NodeGpuOptions {
  /** Substring of the adapter name to use (e.g. "llvmpipe", "SwiftShader", "NVIDIA"); env TABTUNE_ADAPTER. */
  adapter?: string;
  /** Dawn toggles that skip validation; benchmarks only, never tests. */
  fast?: boolean;
  /** Tighter limits than the adapter's, to exercise small-adapter paths. */
  limits?: OpenOptions['limits'];
}

const instances = new WeakMap<Gpu, GPU>();

const SOFTWARE = /llvmpipe|lavapipe|swiftshader/i;

/**
 * Dawn names every adapter it can see when asked for one that does not exist; that is the only
 * enumeration the `webgpu` package offers.
 */
async function listAdapterNames(): Promise<string[]> {
  try {
    await create(['adapter=\u0001none']).requestAdapter();
    return [];
  } catch (e) {
    return [...String((e as Error).message).matchAll(/name: '([^']+)'/g)].map((m) => m[1]!);
  }
}

/** Hardware first, then lavapipe (faster, has shader-f16), then SwiftShader. */
function rank(name: string): number {
  if (!SOFTWARE.test(name)) return 0;
  return /llvmpipe|lavapipe/i.test(name) ? 1 : 2;
}

export async function acquireNodeGpu(opts: NodeGpuOptions = {}): Promise<Gpu> {
  const wanted = opts.adapter ?? process.env.TABTUNE_ADAPTER;
  const names = wanted ? [] : (await listAdapterNames()).sort((a, b) => rank(a) - rank(b));
  const choice = wanted ?? names[0];
  const flags = choice ? [`adapter=${choice}`] : [];
  if (opts.fast) {
    flags.push(
      'disable-dawn-features=lazy_clear_resource_on_first_use',
      'enable-dawn-features=skip_validation,disable_robustness,disable_workgroup_init',
    );
  }
  // The instance must outlive the device: once it is garbage-collected Dawn stops delivering events.
  const instance = create(flags);
  let adapter: GPUAdapter | null;
  try {
    adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new Error(`no WebGPU adapter${choice ? ` matching "${choice}"` : ''}: ${(e as Error).message}\n${HOW_TO_INSTALL}`);
  }
  if (!adapter) throw new Error(`no WebGPU adapter found.\n${HOW_TO_INSTALL}`);
  const gpu = await openGpu(adapter, 'node', { limits: opts.limits, wgslFeatures: instance.wgslLanguageFeatures });
  instances.set(gpu, instance);
  return gpu;
}

const HOW_TO_INSTALL =
  'tabtune needs a Vulkan driver for Dawn. Without a GPU on Debian 12, install lavapipe: enable bookworm-backports and ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (see README.md).';
