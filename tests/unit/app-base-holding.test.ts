import { describe, expect, it } from 'vitest';
import { baseProblems, f16Unavailable, heldBase } from '../../src/app/lib/base-holding.ts';
import type { GpuInfo } from '../../src/core/workspace/api.ts';

const adapter = (features: string[]): GpuInfo => ({
  adapter: { description: 'SwiftShader Device', vendor: 'google', architecture: 'swiftshader', software: true, host: 'browser' }, limits: {}, features,
});
const swiftshader = adapter(['subgroups']);
const f16 = adapter(['shader-f16', 'subgroups']);

describe('the Train form\'s base choices', () => {
  it('says why f16 is unavailable on an adapter without shader-f16', () => {
    expect(f16Unavailable(swiftshader)).toBe('SwiftShader Device does not offer the WebGPU feature shader-f16');
    expect(f16Unavailable(f16)).toBeNull();
    expect(f16Unavailable(null)).toMatch(/not been checked/);
  });

  it('resolves auto by the adapter, keeps a quantised base f32 around its matmuls, and full fine-tuning unquantised f32', () => {
    expect(heldBase({ method: 'lora', quant: 'none', precision: 'auto' }, f16)).toEqual({ quant: 'none', precision: 'f16' });
    expect(heldBase({ method: 'lora', quant: 'none', precision: 'auto' }, swiftshader)).toEqual({ quant: 'none', precision: 'f32' });
    expect(heldBase({ method: 'lora', quant: 'int4', precision: 'f16' }, f16)).toEqual({ quant: 'int4', precision: 'f32' });
    expect(heldBase({ method: 'full', quant: 'int8', precision: 'auto' }, f16)).toEqual({ quant: 'none', precision: 'f32' });
  });

  it('lists the choices that cannot run', () => {
    expect(baseProblems({ method: 'lora', quant: 'none', precision: 'f16' }, swiftshader)).toEqual([
      'Precision f16 is not available: SwiftShader Device does not offer the WebGPU feature shader-f16 (choose f32 or auto)',
    ]);
    expect(baseProblems({ method: 'full', quant: 'int4', precision: 'f32' }, f16)).toEqual(['An int4 base is frozen: it trains with LoRA only']);
    expect(baseProblems({ method: 'lora', quant: 'int4', precision: 'auto' }, swiftshader)).toEqual([]);
  });
});
