/**
 * GRPO reward functions from a user's JavaScript file, run in a node:vm context with a time
 * limit: no require, process, fetch, timers or code generation from strings. Only strings go
 * in and only numbers or strings come out, and every piece of the user's code (the file itself,
 * each call, even reading a thrown error) runs inside the time limit, so a hostile function can
 * loop, throw or return odd values but cannot reach the host or hang the run.
 *
 * The file sets `module.exports` to a function or to an object of named functions, each
 * `(prompt, completion, fields) => number` (fields: the dataset record's other columns).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { types } from 'node:util';
import vm from 'node:vm';
import { InputError } from '../core/errors.ts';
import type { RewardFunctions, RewardInput, RewardOutcome } from '../core/train/preference/reward.ts';

const HELPERS = `
globalThis.__tabtuneNames = () => {
  const e = module.exports;
  if (typeof e === 'function') return JSON.stringify([e.name || 'reward']);
  if (e === null || typeof e !== 'object') return 'module.exports must be a function or an object of functions, got ' + typeof e;
  const names = Object.keys(e).filter((k) => typeof e[k] === 'function');
  return names.length ? JSON.stringify(names) : 'module.exports holds no functions';
};
globalThis.__tabtuneCall = (name, prompt, completion, fields) => {
  try {
    const e = module.exports;
    const f = typeof e === 'function' ? e : e[name];
    const r = f(prompt, completion, JSON.parse(fields));
    if (typeof r === 'number') return r;
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') return 'returned a Promise; a reward must return a number at once';
    return 'returned ' + (r === null ? 'null' : r === undefined ? 'nothing' : 'a ' + typeof r) + ', not a number';
  } catch (err) {
    let text = 'an error';
    try { text = String(err); } catch {}
    return 'threw ' + text;
  }
};
`;

export interface SandboxOptions {
  /** Time limit of loading the file and of each call, in milliseconds. */
  readonly timeoutMs: number;
}

/** Loads reward functions from `file`; a file that does not load is an InputError naming it. */
export function loadRewardFile(file: string, o: SandboxOptions): RewardFunctions {
  let code: string;
  try {
    code = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return loadRewardSource(file, code, o);
}

/** Loads reward functions from their JavaScript source; `file` names it in messages. */
export function loadRewardSource(file: string, code: string, o: SandboxOptions): RewardFunctions {
  const context = vm.createContext(Object.create(null), {
    name: `reward ${basename(file)}`, codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate',
  });
  // Every script here catches the user's errors inside the sandbox; only the host's own errors
  // (a timeout, a stack overflow) reach this catch, and they are read without running user code.
  const run = (source: string): unknown => {
    try {
      return new vm.Script(source).runInContext(context, { timeout: o.timeoutMs, breakOnSigint: true });
    } catch (e) {
      return isTimeout(e) ? `ran over the ${o.timeoutMs} ms limit` : `failed (${hostText(e)})`;
    }
  };
  let body: Function;
  try {
    body = vm.compileFunction(code, ['module', 'exports'], { parsingContext: context, filename: file });
  } catch (e) {
    throw new InputError(file, `is not valid JavaScript (${hostText(e)})`);
  }
  Object.assign(context, { __load: body });
  const loaded = run(`var module = { exports: {} };
    (() => { try { __load(module, module.exports); return ''; } catch (e) { try { return 'threw ' + String(e); } catch { return 'threw an error'; } } })()`);
  if (loaded !== '') throw new InputError(file, `loading it ${typeof loaded === 'string' ? loaded : 'failed'}`);
  run(HELPERS);
  const listed = run('__tabtuneNames()');
  if (typeof listed !== 'string' || !listed.startsWith('[')) throw new InputError(file, typeof listed === 'string' ? listed : 'module.exports cannot be read');
  const names = JSON.parse(listed) as string[];
  return {
    source: file,
    names,
    async call(name: string, input: RewardInput): Promise<RewardOutcome> {
      Object.assign(context, { __n: name, __p: input.prompt, __c: input.completion, __f: JSON.stringify(input.fields) });
      const r = run('__tabtuneCall(__n, __p, __c, __f)');
      if (typeof r === 'number') return { ok: true, value: r };
      return { ok: false, reason: typeof r === 'string' ? r : 'returned something that is not a number' };
    },
  };
}

/** An own data property of a host error, read without getters or proxies. */
function ownString(e: unknown, key: string): string | null {
  if (typeof e !== 'object' || e === null || types.isProxy(e)) return null;
  const d = Object.getOwnPropertyDescriptor(e, key);
  return d && typeof d.value === 'string' ? d.value : null;
}

const isTimeout = (e: unknown) => ownString(e, 'code') === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
const hostText = (e: unknown) => ownString(e, 'message') ?? 'an error';
