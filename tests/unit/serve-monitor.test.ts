import { describe, expect, it } from 'vitest';
import { Blocklist } from '../../src/core/data/prepare/blocklist.ts';
import { ContentCheck } from '../../src/core/serve/content-check.ts';
import { ktoExamples, preferencePairs } from '../../src/core/serve/feedback-dataset.ts';
import { AlertMonitor, Metrics, percentile, summarise, type FeedbackRecord, type RequestRecord } from '../../src/core/serve/monitor.ts';
import { ApiError, parseChatRequest, parseCompletionRequest, parseJsonBody } from '../../src/core/serve/openai-request.ts';

const limits = { maxTokens: 100, defaultMaxTokens: 16 };

function req(o: Partial<RequestRecord> = {}): RequestRecord {
  return {
    type: 'request', time: '2026-01-01T00:00:00Z', id: 'x', endpoint: '/v1/completions', adapter: null, status: 200, latency_ms: 100,
    ttft_ms: 10, tokens_in: 5, tokens_out: 3, tokens_per_s: 20, error: null, flags_prompt: [], flags_output: [], ...o,
  };
}

describe('OpenAI request checks', () => {
  it('reads a chat request with OpenAI defaults and content parts', () => {
    const r = parseChatRequest({ model: 'm', messages: [{ role: 'developer', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] }, limits);
    expect(r).toMatchObject({ model: 'm', maxTokens: 16, temperature: 1, topP: 1, stream: false, stop: [], messages: [{ role: 'system', content: 'ab' }] });
  });

  it('refuses bad fields with a 400 naming the parameter', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ model: 'm', prompt: 'p', max_tokens: -1 }, 'max_tokens'], [{ model: 'm', prompt: 'p', max_tokens: 101 }, 'max_tokens'],
      [{ model: 'm', prompt: 'p', max_tokens: 2.5 }, 'max_tokens'], [{ model: 'm', prompt: 'p', temperature: 3 }, 'temperature'],
      [{ model: 'm', prompt: '' }, 'prompt'], [{ prompt: 'p' }, 'model'], [{ model: 'm', prompt: 'p', stop: [1] }, 'stop'],
      [{ model: 'm', prompt: 'p', n: 2 }, 'n'], [{ model: 'm', prompt: 'p', stream: 'yes' }, 'stream'],
    ];
    for (const [body, param] of bad) {
      try {
        parseCompletionRequest(body, limits);
        throw new Error(`accepted ${JSON.stringify(body)}`);
      } catch (e) {
        expect(e, JSON.stringify(body)).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(400);
        expect((e as ApiError).param).toBe(param);
      }
    }
    expect(() => parseJsonBody('[1]')).toThrow(/JSON object/);
    expect(() => parseChatRequest({ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, limits)).toThrow(/role/);
  });
});

describe('content checks', () => {
  const check = (mode: 'flag' | 'redact') => new ContentCheck(mode, new Blocklist(['forbidden phrase']));
  it('flags personal data and blocklisted terms; redact replaces them', () => {
    const text = 'Write to a@b.com about the Forbidden  Phrase.';
    expect(check('flag').check(text)).toEqual({ text, flags: ['pii:email', 'blocklist:forbidden phrase'] });
    expect(check('redact').check(text).text).toBe('Write to [EMAIL] about the [BLOCKED].');
    expect(new ContentCheck('off', null).check(text).flags).toEqual([]);
  });
});

describe('monitoring', () => {
  it('percentiles by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 0.5), percentile(xs, 0.95), percentile(xs, 0.99), percentile([], 0.5)]).toEqual([50, 95, 99, null]);
  });

  it('raises an alert when a rule starts firing over the window, once, and again after it recovers', () => {
    const m = new AlertMonitor({ windowSeconds: 10, minRequests: 4, errorRate: 0.25, p95LatencyMs: 1000, flaggedRate: 0.5 });
    const t0 = 1_000_000;
    expect(m.observe(req(), t0)).toEqual([]);
    expect(m.observe(req({ status: 500, error: 'boom' }), t0 + 1)).toEqual([]);
    expect(m.observe(req(), t0 + 2)).toEqual([]);
    const fired = m.observe(req({ status: 500, error: 'boom' }), t0 + 3);
    expect(fired.map((a) => [a.rule, a.value])).toEqual([['error_rate', 0.5]]);
    expect(m.observe(req({ status: 500, error: 'boom' }), t0 + 4)).toEqual([]);
    // 429s are not counted; the window forgets the failures after 10 s.
    expect(m.observe(req({ status: 429, error: 'busy' }), t0 + 5)).toEqual([]);
    const later = Array.from({ length: 4 }, (_, i) => m.observe(req({ latency_ms: 5000 }), t0 + 20_000 + i)).flat();
    expect(later.map((a) => a.rule)).toEqual(['p95_latency_ms']);
    // 1 failure in 5 is under 25%; p95 is still firing, so it is not raised again.
    expect(m.observe(req({ status: 500, error: 'x' }), t0 + 20_010)).toEqual([]);
  });

  it('prints Prometheus text with counters, a histogram and gauges', () => {
    const m = new Metrics();
    m.observe(req({ adapter: 'a"b', latency_ms: 300 }));
    m.observe(req({ status: 429 }));
    const text = m.text({ inFlight: 1, queued: 2 });
    expect(text).toContain('tabtune_requests_total{adapter="a\\"b",status="200"} 1');
    expect(text).toContain('tabtune_requests_total{adapter="base",status="429"} 1');
    expect(text).toContain('tabtune_request_duration_seconds_bucket{adapter="a\\"b",le="0.25"} 0');
    expect(text).toContain('tabtune_request_duration_seconds_bucket{adapter="a\\"b",le="0.5"} 1');
    expect(text).toContain('tabtune_requests_queued 2');
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? [\d.e+-]+)$/);
  });

  it('summarises a log per adapter', () => {
    const s = summarise([req({ adapter: 'ft', latency_ms: 10 }), req({ latency_ms: 30, flags_output: ['pii:email'] }), req({ status: 429 }), req({ status: 400, error: 'bad' }),
      { type: 'alert', time: 't', rule: 'error_rate', value: 1, threshold: 0.1, window_s: 300, requests: 20 }]);
    expect(s).toMatchObject({ requests: 4, errors: 1, rejected: 1, flagged_outputs: 1, alerts: { error_rate: 1 } });
    expect(s.adapters['ft']!.requests).toBe(1);
    expect(s.adapters['base']!.requests).toBe(3);
  });
});

describe('feedback as preference data', () => {
  const fb = (id: string, prompt: FeedbackRecord['prompt'], completion: string, rating: number | null, preferred: string | null = null): FeedbackRecord =>
    ({ type: 'feedback', time: 't', id, adapter: null, prompt, completion, rating, preferred });
  it('pairs preferred answers and good/bad ratings of one prompt; KTO labels every rated answer', () => {
    const chat = [{ role: 'user', content: 'hi' }];
    const records = [fb('1', chat, 'bad answer', -1, 'good answer'), fb('2', 'p', 'A', 1), fb('3', 'p', 'B', -1), fb('4', 'p', 'C', null), fb('3', 'p', 'B', -1)];
    expect(preferencePairs(records)).toEqual([
      { prompt: chat, chosen: [{ role: 'assistant', content: 'good answer' }], rejected: [{ role: 'assistant', content: 'bad answer' }] },
      { prompt: 'p', chosen: 'A', rejected: 'B' },
    ]);
    expect(ktoExamples(records).map((k) => [k.completion, k.label])).toEqual([
      [[{ role: 'assistant', content: 'bad answer' }], false], [[{ role: 'assistant', content: 'good answer' }], true], ['A', true], ['B', false],
    ]);
  });
});
