// WebGPU's numeric flags, fixed by the specification. Core code uses these instead of the
// GPUBufferUsage/GPUMapMode globals, which Node only defines after the platform sets them.
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const;
export const ShaderStage = { COMPUTE: 0x4 } as const;

/** Usage of every storage buffer: bound to kernels, copied in and read back. */
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
