/** Packs a kernel's uniform struct: every field is 4 bytes, in declaration order, as WGSL lays out u32/i32/f32. */
export type ParamField = readonly [value: number, type: 'u32' | 'i32' | 'f32'];

export function packParams(fields: readonly ParamField[]): ArrayBuffer {
  // Uniform structs are padded to 16 bytes.
  const size = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  fields.forEach(([value, type], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(`uniform field ${i} must be a u32, got ${value}`);
      }
      view.setUint32(i * 4, value, true);
    }
  });
  return buf;
}
