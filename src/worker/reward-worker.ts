/**
 * The GRPO reward sandbox: a dedicated Worker that runs the user's reward functions and nothing
 * else. Before any user code runs it takes away every way out of the Worker (network, storage,
 * nested workers, messages) and every way to turn a string into code, so a reward function sees
 * a prompt and a completion and can only compute a number. An endless loop is the client's
 * business: it terminates this Worker when a call runs over its time limit.
 *
 * The source is CommonJS like the CLI's (`module.exports = function name(prompt, completion, fields)`
 * or an object of named functions).
 */
import type { RewardReply, RewardRequest } from './reward-protocol.ts';

/**
 * The only globals left to a reward function: the language's own (ECMAScript built-ins but
 * eval), text encoding and the console. Everything the Worker adds (fetch, XMLHttpRequest, WebSocket,
 * importScripts, Worker, indexedDB, caches, FontFace, timers, postMessage …) is removed, so an
 * API this list never heard of is gone too.
 */
const ALLOWED = new Set([
  'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Infinity', 'NaN', 'undefined', 'Boolean', 'String', 'Symbol', 'Date',
  'Promise', 'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError',
  'globalThis', 'JSON', 'Math', 'Intl', 'ArrayBuffer', 'Atomics', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array',
  'Int32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'Uint8ClampedArray', 'BigUint64Array', 'BigInt64Array', 'DataView', 'Map',
  'BigInt', 'Set', 'WeakMap', 'WeakSet', 'Proxy', 'Reflect', 'FinalizationRegistry', 'WeakRef', 'decodeURI', 'decodeURIComponent',
  'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'isFinite', 'isNaN', 'Iterator', 'console', 'TextEncoder', 'TextDecoder',
  'constructor',
]);

const post = self.postMessage.bind(self) as (r: RewardReply) => void;
const listen = self.addEventListener.bind(self);
// Captured before the lockdown: the one place that turns the user's source into a function.
const compile = Function as unknown as new (...args: string[]) => (module: { exports: unknown }, exports: unknown) => void;
lockdown();

function lockdown(): void {
  const blockedConstructor = function blocked(): never {
    throw new EvalError('code from strings is not available in the reward sandbox');
  };
  // Every function kind's constructor evaluates strings: replace it on each prototype, and the global.
  const kinds = [function () {}, async function () {}, function* () {}, async function* () {}];
  for (const f of kinds) Object.defineProperty(Object.getPrototypeOf(f), 'constructor', { value: blockedConstructor });
  Object.defineProperty(globalThis, 'Function', { value: blockedConstructor });
  for (let o: object | null = globalThis; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (ALLOWED.has(name) || Reflect.deleteProperty(o, name)) continue;
      // Fixed constants (such as TEMPORARY = 0) cannot be removed and reach nothing.
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (d && 'value' in d && !d.writable && (typeof d.value !== 'object' || d.value === null) && typeof d.value !== 'function') continue;
      try {
        Object.defineProperty(o, name, { value: undefined, writable: false });
      } catch {
        throw new Error(`the reward sandbox cannot remove ${name}`);
      }
    }
  }
}

let exported: unknown = null;

function load(source: string): { names: string[] } | { reason: string } {
  // `import()` fetches code; it is syntax, not a global, so the source may not name it at all.
  if (/\bimport\b/.test(source)) return { reason: 'uses import, which the reward sandbox does not allow (no network, no modules)' };
  let body: (module: { exports: unknown }, exports: unknown) => void;
  try {
    body = new compile('module', 'exports', `'use strict';\n${source}`);
  } catch (e) {
    return { reason: `is not valid JavaScript (${text(e)})` };
  }
  const module = { exports: {} as unknown };
  try {
    body(module, module.exports);
  } catch (e) {
    return { reason: `threw ${text(e)} while loading` };
  }
  const e = module.exports;
  exported = e;
  if (typeof e === 'function') return { names: [e.name || 'reward'] };
  if (e === null || typeof e !== 'object') return { reason: `module.exports must be a function or an object of functions, got ${typeof e}` };
  const names = Object.keys(e).filter((k) => typeof (e as Record<string, unknown>)[k] === 'function');
  return names.length ? { names } : { reason: 'module.exports holds no functions' };
}

function call(name: string, prompt: string, completion: string, fields: string): { value: number } | { reason: string } {
  try {
    const e = exported as ((...a: unknown[]) => unknown) | Record<string, (...a: unknown[]) => unknown>;
    const f = typeof e === 'function' ? e : e[name]!;
    const r = f(prompt, completion, JSON.parse(fields));
    if (typeof r === 'number') return { value: r };
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      return { reason: 'returned a Promise; a reward must return a number at once' };
    }
    return { reason: `returned ${r === null ? 'null' : r === undefined ? 'nothing' : `a ${typeof r}`}, not a number` };
  } catch (err) {
    return { reason: `threw ${text(err)}` };
  }
}

function text(e: unknown): string {
  try {
    return String(e);
  } catch {
    return 'an error';
  }
}

listen('message', (ev: MessageEvent<RewardRequest>) => {
  const m = ev.data;
  if (m.type === 'load') post({ id: m.id, ...load(m.source) });
  else post({ id: m.id, ...call(m.name, m.prompt, m.completion, m.fields) });
});
post({ ready: true });
