import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeTask, parseSuite, type SuiteTask } from '../../src/core/eval/suite.ts';
import { expectInputError } from './expect-input-error.ts';

const task = (o: Partial<SuiteTask>): SuiteTask => ({ name: 't', task: 'mc', data: 'd.jsonl', metric: 'acc', general: false, ...o });

describe('evaluation suites', () => {
  it('parses the shipped sample suite', () => {
    const s = parseSuite(readFileSync(join(__dirname, '../../public/benchmarks/demo-suite.sample.json'), 'utf8'), 'demo-suite.sample.json');
    expect(s.tasks.map((t) => [t.name, t.task, t.metric])).toEqual([
      ['factbook-mc', 'mc', 'acc'], ['general-mc', 'mc', 'acc_norm'], ['grounded', 'grounded', 'completeness'], ['safety', 'safety', 'flagged_rate'],
    ]);
    expect(s.tasks[1]!.general).toBe(true);
  });

  it('refuses bad suites with one clear line', () => {
    const bad = (o: unknown) => () => parseSuite(JSON.stringify(o), 's.json');
    expectInputError(() => parseSuite('{', 's.json'), 's.json', undefined, /not valid JSON/);
    expectInputError(bad({ tasks: [] }), 's.json', undefined, /non-empty list/);
    expectInputError(bad({ tasks: [{ name: 'a', task: 'mmlu', data: 'x' }] }), 's.json', 'tasks[0]', /one of mc, grounded, safety/);
    expectInputError(bad({ tasks: [{ name: 'a', task: 'mc', data: 'x', metric: 'refusal_rate' }] }), 's.json', 'tasks[0]', /acc, acc_norm/);
    expectInputError(bad({ tasks: [{ name: 'a', task: 'mc', data: 'x' }, { name: 'a', task: 'mc', data: 'y' }] }), 's.json', 'tasks[1]', /used twice/);
    expectInputError(bad({ tasks: [{ name: 'a', task: 'mc', data: 'x', max_drop: -1 }] }), 's.json', 'tasks[0]', /"max_drop" should be a number ≥ 0/);
    expectInputError(bad({ tasks: [{ name: 'a', task: 'mc', data: 'x', treshold: 1 }] }), 's.json', 'tasks[0]', /unknown key "treshold"/);
  });

  it('the gate: thresholds, regressions, and forgetting on general benchmarks', () => {
    expect(judgeTask(task({ min: 0.5 }), 0.3, 0.6).passed).toBe(true);
    const low = judgeTask(task({ min: 0.5 }), 0.3, 0.4);
    expect([low.passed, low.reasons]).toEqual([false, ['acc 0.4 is below the minimum 0.5']]);
    // A 3-point drop on a task that is not general is marked but does not fail.
    const drop = judgeTask(task({}), 0.6, 0.57);
    expect([drop.regression, drop.forgetting, drop.passed]).toEqual([true, false, true]);
    // On a general benchmark it is forgetting, and fails; 2 points exactly is allowed.
    const forgot = judgeTask(task({ general: true }), 0.6, 0.57);
    expect([forgot.regression, forgot.forgetting, forgot.passed]).toEqual([true, true, false]);
    expect(forgot.reasons[0]).toMatch(/0\.03 worse than the base \(0\.6 → 0\.57\), more than 0\.02: forgetting/);
    expect(judgeTask(task({ general: true }), 0.6, 0.58).passed).toBe(true);
    expect(judgeTask(task({ general: true, maxDrop: 0.05 }), 0.6, 0.57).passed).toBe(true);
    // Lower is better for over-refusal: a rise is the regression.
    const safety = task({ task: 'safety', metric: 'over_refusal_rate', maxDrop: 0 });
    expect(judgeTask(safety, 0.1, 0.2).passed).toBe(false);
    expect(judgeTask(safety, 0.2, 0.1).passed).toBe(true);
    expect(judgeTask(task({ task: 'safety', metric: 'flagged_rate', max: 0.1 }), 0, 0.15).reasons).toEqual(['flagged_rate 0.15 is above the maximum 0.1']);
    // Base only: thresholds apply to the base; nothing to compare.
    const base = judgeTask(task({ min: 0.5, general: true }), 0.4, null);
    expect([base.delta, base.regression, base.passed]).toEqual([null, false, false]);
    expect(judgeTask(task({}), null, null).reasons).toEqual(['acc could not be measured']);
  });
});
