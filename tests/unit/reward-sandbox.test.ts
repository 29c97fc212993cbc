import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRewardFile } from '../../src/platform/node-reward-sandbox.ts';
import { scoreCompletions, RewardError } from '../../src/core/train/preference/reward.ts';

const REWARDS = fileURLToPath(new URL('../../public/rewards/', import.meta.url));

function rewardFile(code: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tabtune-reward-')), 'reward.js');
  writeFileSync(path, code);
  return path;
}

const input = (completion: string, fields: Record<string, unknown> = {}) => ({ prompt: 'Mali is in Africa.\nQuestion: Which region is Mali in?', completion, fields });
const load = (code: string, timeoutMs = 5000) => loadRewardFile(rewardFile(code), { timeoutMs });

describe('GRPO reward sandbox (node:vm with a time limit)', () => {
  it('runs the shipped example rewards on the demo task', async () => {
    const format = loadRewardFile(join(REWARDS, 'format.js'), { timeoutMs: 1000 });
    const exact = loadRewardFile(join(REWARDS, 'exact-answer.js'), { timeoutMs: 1000 });
    expect(format.names).toEqual(['format']);
    expect(exact.names).toEqual(['exact_answer']);
    const inputs = [input('Africa', { answer: 'Africa' }), input('It is in Africa, I think', { answer: 'Africa' }), input('Europe\nand more', { answer: 'Africa' })];
    expect((await scoreCompletions(exact, inputs)).total).toEqual([1, 0.5, 0]);
    expect((await scoreCompletions(format, inputs)).total).toEqual([1, 0.5 + 0.5 * (3 / 6), 0.5]);
  });

  it('sums an object of named functions, as TRL sums its reward functions', async () => {
    const fns = load('module.exports = { len: (p, c) => c.length, one: () => 1, helper: 3 };');
    expect(fns.names).toEqual(['len', 'one']);
    const r = await scoreCompletions(fns, [input('ab'), input('abcd')]);
    expect(r.perFunction).toEqual([[2, 4], [1, 1]]);
    expect(r.total).toEqual([3, 5]);
  });

  it('stops an infinite loop at the time limit with one clear message', async () => {
    const fns = load('module.exports = function spin(p, c) { while (true) {} };', 1000);
    await expect(scoreCompletions(fns, [input('x')])).rejects.toThrow(/^reward function spin on completion 1 \("x"\) ran over the 1000 ms limit$/);
    // A promise that never settles is stopped too, and async rewards are refused.
    await expect(scoreCompletions(load('module.exports = async function later() { while (true) {} };', 1000), [input('x')])).rejects.toThrow(/ran over the 1000 ms limit|returned a Promise/);
    await expect(scoreCompletions(load('module.exports = async function later() { return 1; };'), [input('x')])).rejects.toThrow(/later .* returned a Promise/);
  });

  it('reports throws, NaN and non-numbers as errors naming the function', async () => {
    await expect(scoreCompletions(load('module.exports = function boom() { throw new Error("bad input"); };'), [input('x')]))
      .rejects.toThrow(/reward function boom on completion 1 \("x"\) threw Error: bad input/);
    await expect(scoreCompletions(load('module.exports = function nan() { return NaN; };'), [input('x')])).rejects.toThrow(/nan .* returned NaN; a reward must be a finite number/);
    await expect(scoreCompletions(load('module.exports = function text() { return "1"; };'), [input('x')])).rejects.toThrow(/returned a string, not a number/);
    const err = await scoreCompletions(load('module.exports = function inf() { return Infinity; };'), [input('x')]).catch((e) => e);
    expect(err).toBeInstanceOf(RewardError);
  });

  it('has no require, process, fetch, timers or code generation, and cannot reach the host', async () => {
    for (const [expr, message] of [
      ['require("fs")', /ReferenceError: require is not defined/],
      ['fetch("http://example.com")', /ReferenceError: fetch is not defined/],
      ['process.exit(3)', /ReferenceError: process is not defined/],
      ['setTimeout(() => 0, 1)', /ReferenceError: setTimeout is not defined/],
      ['this.constructor.constructor("return process")()', /EvalError: Code generation from strings disallowed/],
      ['(() => {}).constructor("return process")()', /EvalError: Code generation from strings disallowed/],
    ] as const) {
      const fns = load(`module.exports = function hostile() { return ${expr}; };`);
      await expect(scoreCompletions(fns, [input('x')]), expr).rejects.toThrow(message);
    }
  });

  it('reads a thrown value inside the time limit (a hostile getter cannot hang the host)', async () => {
    const fns = load('module.exports = function sly() { throw { toString() { while (true) {} } }; };', 1000);
    await expect(scoreCompletions(fns, [input('x')])).rejects.toThrow(/sly .* ran over the 1000 ms limit/);
  });

  it('rejects files that do not load, with the file name and reason', () => {
    expect(() => load('module.exports = (')).toThrow(/reward\.js: is not valid JavaScript/);
    expect(() => load('while (true) {}', 1000)).toThrow(/reward\.js: loading it ran over the 1000 ms limit/);
    expect(() => load('require("child_process")')).toThrow(/reward\.js: loading it threw ReferenceError: require is not defined/);
    expect(() => load('module.exports = 3;')).toThrow(/module\.exports must be a function or an object of functions, got number/);
    expect(() => load('module.exports = { a: 1 };')).toThrow(/module\.exports holds no functions/);
    expect(() => loadRewardFile('/nonexistent/reward.js', { timeoutMs: 1000 })).toThrow(/\/nonexistent\/reward\.js: cannot read \(ENOENT\)/);
  });
});
