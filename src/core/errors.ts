/**
 * Errors a user can act on. The message always names the file (or thing), where in it, and why,
 * e.g. `model.safetensors: tensor "lm_head.weight": data_offsets end 1200 is past the file end 1024`.
 */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly where?: string,
  ) {
    super(where ? `${file}: ${where}: ${reason}` : `${file}: ${reason}`);
    this.name = 'InputError';
  }
}

/** A shape or buffer that does not fit the adapter; names the WebGPU limit. */
export class LimitError extends Error {
  constructor(
    readonly limit: string,
    readonly needed: number,
    readonly allowed: number,
    what: string,
  ) {
    super(`${what} needs ${needed} but the adapter's ${limit} is ${allowed}`);
    this.name = 'LimitError';
  }
}

/** The GPU device was lost; callers resume from their last checkpoint. */
export class DeviceLostError extends Error {
  constructor(readonly reason: string) {
    super(`GPU device lost: ${reason}`);
    this.name = 'DeviceLostError';
  }
}
