/** The app's words and numbers: metric changes, Hub repository ids, run names, prompt formats, report redaction. */
import { describe, expect, it } from 'vitest';
import { metricChange, readable } from '../../src/app/lib/metric-change.ts';
import { hubRepoProblem } from '../../src/app/lib/hub-repo.ts';
import { freshRunName } from '../../src/app/lib/run-name.ts';
import { promptFormat, promptRequest } from '../../src/app/lib/prompt-format.ts';
import { redactReport } from '../../src/app/lib/report-redaction.ts';
import type { QualityReport } from '../../src/core/data/prepare/report.ts';

describe('metric changes read as people say them', () => {
  it('writes numbers without exponents', () => {
    expect(readable(1e7)).toBe('10,000,000');
    expect(readable(3785.4)).toBe('3,785');
    expect(readable(14.04)).toBe('14');
    expect(readable(2.3456)).toBe('2.35');
    expect(readable(0.000123)).toBe('0.00012');
    expect(readable(null)).toBe('—');
    expect(readable(Infinity)).toBe('infinite');
  });

  it('gives perplexity changes as ratios, small ones as percentages', () => {
    expect(metricChange(425, 14, 'ratio', true)).toEqual({ text: '30× lower', good: true });
    expect(metricChange(1e7, 3785, 'ratio', true)).toEqual({ text: '2,642× lower', good: true });
    expect(metricChange(10, 25, 'ratio', true)).toEqual({ text: '2.5× higher', good: false });
    expect(metricChange(10, 8, 'ratio', true)).toEqual({ text: '20% lower', good: true });
    expect(metricChange(10, 10.01, 'ratio', true)).toEqual({ text: 'about the same', good: null });
  });

  it('gives rates in points and log-scale values as differences', () => {
    expect(metricChange(0.1, 0.55, 'rate', false)).toEqual({ text: '+45 points', good: true });
    expect(metricChange(0.5, 0.4, 'rate', false)).toEqual({ text: '−10 points', good: false });
    expect(metricChange(6.05, 2.64, 'difference', true)).toEqual({ text: '3.41 lower', good: true });
    expect(metricChange(null, 2, 'difference', true)).toEqual({ text: '', good: null });
    expect(metricChange(NaN, 2, 'ratio', true)).toEqual({ text: '', good: null });
  });
});

describe('Hub repository ids', () => {
  it('accepts ids the Hub accepts', () => {
    for (const ok of ['Qwen/Qwen2.5-0.5B', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'openai-community/gpt2', 'a/b', 'user_1/model.v2']) expect(hubRepoProblem(ok), ok).toBeNull();
  });

  it('says why an id is not valid', () => {
    expect(hubRepoProblem('gpt2')).toMatch(/add the owner/);
    expect(hubRepoProblem('https://huggingface.co/Qwen/Qwen2.5-0.5B')).toMatch(/not its web address/);
    expect(hubRepoProblem('Qwen/Qwen 2.5')).toMatch(/only letters.*a space/);
    expect(hubRepoProblem('Qwen/Qwen2.5/main')).toMatch(/exactly one/);
    expect(hubRepoProblem('Qwen/-model')).toMatch(/cannot start or end/);
    expect(hubRepoProblem('Qwen/my--model')).toMatch(/“--” or “..”/);
    expect(hubRepoProblem('Qwen/model.git')).toMatch(/\.git/);
    expect(hubRepoProblem(`Qwen/${'x'.repeat(97)}`)).toMatch(/97 characters.*96/);
    expect(hubRepoProblem('/model')).toMatch(/owner is empty/);
    expect(hubRepoProblem('   ')).toMatch(/owner\/name/);
  });
});

describe('run names', () => {
  it('numbers a new run past every earlier one of the same dataset and method', () => {
    const form = { method: 'lora' as const, r: 16 };
    expect(freshRunName('qa.jsonl', form, [])).toBe('qa.jsonl · LoRA r16 · run 1');
    expect(freshRunName('qa.jsonl', form, [{ name: 'qa.jsonl · LoRA r16 · run 1' }, { name: 'qa.jsonl · LoRA r16 · run 2' }])).toBe('qa.jsonl · LoRA r16 · run 3');
    expect(freshRunName('qa.jsonl', { method: 'full', r: 16 }, [{ name: 'qa.jsonl · LoRA r16 · run 1' }])).toBe('qa.jsonl · full · run 1');
  });
});

describe('prompt formats', () => {
  const kinds = (chat: number, prompt: number, text = 0) => ({ chat, prompt, text, tokens: 0 });
  it('asks in the format the data trained with', () => {
    expect(promptFormat({ kinds: kinds(10, 0), columns: ['messages'], options: {} as never })).toBe('chat');
    expect(promptFormat({ kinds: kinds(0, 10), columns: ['instruction', 'input', 'output'], options: {} as never })).toBe('alpaca');
    expect(promptFormat({ kinds: kinds(10, 0), columns: ['instruction', 'output'], options: { alpacaAs: 'chat' } as never })).toBe('chat');
    expect(promptFormat({ kinds: kinds(0, 10), columns: ['prompt', 'completion'], options: {} as never })).toBe('prompt');
    expect(promptFormat({ kinds: kinds(0, 0, 5), columns: ['text'], options: {} as never })).toBe('text');
    const alpaca = promptRequest('alpaca', 'Name a colour.');
    expect('prompt' in alpaca && alpaca.prompt).toMatch(/### Instruction:\nName a colour\.\n\n### Response:\n$/);
    expect(promptRequest('chat', 'hi', [{ role: 'system', content: 's' }])).toEqual({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }] });
    expect(promptRequest('prompt', 'Q: 2+2=')).toEqual({ prompt: 'Q: 2+2=' });
  });
});

describe('the Prepare report with masking on', () => {
  it('prints no personal data in examples, flags or text', () => {
    const email = 'jane.doe@example.org';
    const report = {
      steps: [{ step: 'clean', before: 2, after: 2, rules: [{ rule: 'whitespace', changed: 1, removed: 0, examples: [{ source: { file: 'a.jsonl', line: 1 }, before: `mail  ${email}`, after: `mail ${email}` }] }] }],
      flags: [{ source: { file: 'a.jsonl', line: 1 }, kind: 'email', location: 'completion', match: 'jane.d…', action: 'masked' }],
      flagCounts: { email: 1 },
    } as unknown as QualityReport;
    const out = redactReport(report, `whitespace: mail  ${email} → mail ${email}\n  a.jsonl:1 completion: email "jane.d…" (masked)`);
    const all = JSON.stringify(out);
    expect(all).not.toContain(email);
    expect(all).not.toContain('jane.d');
    expect(out.text).toContain('[EMAIL]');
    expect(out.report.flags[0]!.match).toBe('[EMAIL]');
  });
});
