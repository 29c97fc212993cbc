import { expect } from 'vitest';
import { InputError } from '../../src/core/errors.ts';

/** Runs `fn` and checks it throws an InputError naming `file`, `where` and a reason matching `reason`. */
export function expectInputError(fn: () => unknown, file: string, where: string | undefined, reason: RegExp): InputError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(InputError);
  const e = err as InputError;
  expect(e.file).toBe(file);
  expect(e.where).toBe(where);
  expect(e.reason).toMatch(reason);
  expect(e.message.startsWith(`${file}: `)).toBe(true);
  return e;
}
