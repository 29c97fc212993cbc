/**
 * `tabtune serve` over real HTTP on 127.0.0.1: replies equal `tabtune generate` greedy output,
 * the `openai` npm client parses them (streaming too), bad requests get OpenAI-shaped 4xx JSON
 * errors, a bounded load test sees only 200s and expected 429s with matching log counts, a
 * client that disconnects frees its slot, and the feedback in the log becomes TRL datasets.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, LLAMA, ROOT, tabtune } from './cli-harness.ts';

const ADAPTER = join(LLAMA, 'adapter');
const KEY = 'test-key';
const dir = mkdtempSync(join(tmpdir(), 'tabtune-serve-'));
const LOG = join(dir, 'serve.jsonl');

/** `tabtune ARGS` without blocking this process (a blocked event loop cannot retire idle keep-alive sockets). */
function tabtuneAsync(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'bin/tabtune.mjs'), ...args], { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
  });
}
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);

let server: ChildProcess;
let url = '';

beforeAll(async () => {
  buildCli();
  server = spawn(process.execPath, [join(ROOT, 'bin/tabtune.mjs'), 'serve', '--model', LLAMA, '--adapter', `ft=${ADAPTER}`, '--port', '0',
    '--api-key', KEY, '--log', LOG, '--queue', '4', '--max-tokens', '64', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"listening":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`tabtune serve exited with ${code}`)));
  });
}, 300_000);

afterAll(() => {
  server?.kill('SIGTERM');
});

const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const post = (path: string, body: string, headers: Record<string, string> = auth) => fetch(`${url}${path}`, { method: 'POST', headers, body });
const logRecords = (): Record<string, unknown>[] => (existsSync(LOG) ? readFileSync(LOG, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

/** Waits (bounded by count, not time) until the log holds `n` request records. */
async function logRequests(n: number): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 300; i++) {
    const rs = logRecords().filter((r) => r.type === 'request');
    if (rs.length >= n) return rs;
    await new Promise((r) => setTimeout(r, 100));
  }
  return logRecords().filter((r) => r.type === 'request');
}

describe('tabtune serve', () => {
  const client = () => new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });

  it('binds 127.0.0.1 and lists the base model and the adapter', async () => {
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-llama', 'ft']);
  });

  it('chat replies (plain and streamed, through the openai client) equal tabtune generate --chat --greedy', async () => {
    const want = lastJson(await tabtuneAsync('generate', '--model', LLAMA, '--adapter', ADAPTER, '--prompt', 'Hello there', '--chat', '--greedy', '--max-new-tokens', '8', '--json')).text;
    const c = await client().chat.completions.create({ model: 'ft', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, temperature: 0 });
    expect(c.choices[0]!.message.content).toBe(want);
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await client().chat.completions.create({ model: 'ft', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, temperature: 0, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(want);
    expect(finish === 'length' || finish === 'stop').toBe(true);
  });

  it('completions (plain and streamed) equal tabtune generate --greedy on the base model', async () => {
    const want = lastJson(await tabtuneAsync('generate', '--model', LLAMA, '--prompt', 'The weather', '--greedy', '--max-new-tokens', '6', '--json')).text;
    const c = await client().completions.create({ model: 'tiny-llama', prompt: 'The weather', max_tokens: 6, temperature: 0 });
    expect(c.choices[0]!.text).toBe(want);
    let text = '';
    for await (const chunk of await client().completions.create({ model: 'tiny-llama', prompt: 'The weather', max_tokens: 6, temperature: 0, stream: true })) {
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe(want);
  });

  it('answers bad requests with the right 4xx and an OpenAI error body', async () => {
    const cases: [string, Promise<Response>, number, string | null][] = [
      ['invalid JSON', post('/v1/chat/completions', '{"model": "ft", '), 400, 'invalid_json'],
      ['10 MB body', post('/v1/completions', JSON.stringify({ model: 'ft', prompt: 'x'.repeat(10 * 2 ** 20) })), 413, 'request_too_large'],
      ['unknown model', post('/v1/completions', JSON.stringify({ model: 'nope', prompt: 'hi' })), 404, 'model_not_found'],
      ['negative max_tokens', post('/v1/completions', JSON.stringify({ model: 'ft', prompt: 'hi', max_tokens: -5 })), 400, null],
      ['max_tokens over the limit', post('/v1/completions', JSON.stringify({ model: 'ft', prompt: 'hi', max_tokens: 65 })), 400, null],
      ['missing API key', post('/v1/completions', JSON.stringify({ model: 'ft', prompt: 'hi' }), { 'content-type': 'application/json' }), 401, 'invalid_api_key'],
      ['wrong API key', post('/v1/completions', JSON.stringify({ model: 'ft', prompt: 'hi' }), { ...auth, authorization: 'Bearer nope' }), 401, 'invalid_api_key'],
      ['empty messages', post('/v1/chat/completions', JSON.stringify({ model: 'ft', messages: [] })), 400, null],
      ['unknown route', post('/v1/embeddings', '{}'), 404, 'not_found'],
    ];
    for (const [what, pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, what).toBe(status);
      expect(res.headers.get('content-type'), what).toContain('application/json');
      const body = await res.json() as { error: { message: string; type: string; code: string | null; param: string | null } };
      expect(body.error.message.length, what).toBeGreaterThan(0);
      if (code) expect(body.error.code, what).toBe(code);
    }
    const neg = await (await post('/v1/completions', JSON.stringify({ model: 'ft', prompt: 'hi', max_tokens: -5 }))).json() as { error: { param: string } };
    expect(neg.error.param).toBe('max_tokens');
    await expect(client().completions.create({ model: 'nope', prompt: 'hi' })).rejects.toMatchObject({ status: 404 });
  });

  it('load: 20 clients, 200 requests; only 200s and queue-full 429s, and the log counts them all', async () => {
    const before = (await logRequests(0)).length;
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 20 }, async (_, c) => {
      for (let i = 0; i < 10; i++) {
        const res = await post('/v1/completions', JSON.stringify({ model: c % 2 ? 'ft' : 'tiny-llama', prompt: `client ${c} request ${i}`, max_tokens: 1, temperature: 0 }));
        statuses.push(res.status);
        const body = await res.json() as { choices?: unknown[]; error?: { code: string } };
        if (res.status === 200) expect(body.choices).toHaveLength(1);
        else expect(body.error?.code).toBe('queue_full');
      }
    }));
    expect(statuses).toHaveLength(200);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThan(0);
    const logged = (await logRequests(before + 200)).slice(before);
    expect(logged).toHaveLength(200);
    expect(logged.filter((r) => r.status === 200)).toHaveLength(ok);
    expect(logged.filter((r) => r.status === 429)).toHaveLength(200 - ok);
    const metrics = await (await fetch(`${url}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/tabtune_requests_total\{adapter="ft",status="200"\} \d+/);
    expect(metrics).toContain('tabtune_requests_in_flight 0');
  }, 600_000);

  it('a client that disconnects mid-stream frees its slot', async () => {
    const abort = new AbortController();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: auth, signal: abort.signal,
      body: JSON.stringify({ model: 'ft', messages: [{ role: 'user', content: 'Tell me a long story' }], max_tokens: 64, temperature: 0, stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    const before = logRecords().filter((r) => r.type === 'request').length;
    const next = await post('/v1/completions', JSON.stringify({ model: 'tiny-llama', prompt: 'hi', max_tokens: 1 }));
    expect(next.status).toBe(200);
    const logged = await logRequests(before + 1);
    expect(logged.some((r) => r.status === 499 && r.endpoint === '/v1/chat/completions')).toBe(true);
  });

  it('flags personal data, takes feedback, and the log becomes TRL preference and KTO datasets and a monitor summary', async () => {
    const a = await client().chat.completions.create({ model: 'ft', messages: [{ role: 'user', content: 'Mail me at jane.doe@example.com' }], max_tokens: 4, temperature: 0 });
    const b = await client().chat.completions.create({ model: 'ft', messages: [{ role: 'user', content: 'Say something nice' }], max_tokens: 4, temperature: 0 });
    expect((await post('/v1/feedback', JSON.stringify({ id: a.id, rating: -1, preferred: 'I cannot email you.' }))).status).toBe(200);
    expect((await post('/v1/feedback', JSON.stringify({ id: b.id, rating: 1 }))).status).toBe(200);
    expect((await post('/v1/feedback', JSON.stringify({ id: 'chatcmpl-unknown', rating: 1 }))).status).toBe(404);
    expect((await post('/v1/feedback', JSON.stringify({ id: b.id }))).status).toBe(400);
    const flagged = logRecords().find((r) => r.id === a.id)!;
    expect(flagged.flags_prompt).toContain('pii:email');

    const prefs = join(dir, 'prefs.jsonl');
    await tabtuneAsync('data', 'feedback', '--log', LOG, '--out', prefs);
    const pairs = readFileSync(prefs, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(pairs).toEqual([{
      prompt: [{ role: 'user', content: 'Mail me at jane.doe@example.com' }],
      chosen: [{ role: 'assistant', content: 'I cannot email you.' }],
      rejected: [{ role: 'assistant', content: a.choices[0]!.message.content }],
    }]);
    const kto = join(dir, 'kto.jsonl');
    await tabtuneAsync('data', 'feedback', '--log', LOG, '--out', kto, '--format', 'kto');
    expect(readFileSync(kto, 'utf8').trim().split('\n').map((l) => JSON.parse(l).label)).toEqual([false, true, true]);

    const summary = lastJson(await tabtuneAsync('monitor', '--log', LOG, '--json'));
    const requests = logRecords().filter((r) => r.type === 'request');
    expect(summary.requests).toBe(requests.length);
    expect(summary.rejected).toBe(requests.filter((r) => r.status === 429).length);
    expect(summary.feedback).toEqual({ entries: 2, positive: 1, negative: 1, preferred: 1 });
    expect(summary.adapters.ft.requests).toBe(requests.filter((r) => r.adapter === 'ft').length);
    expect(summary.flagged_prompts).toBeGreaterThanOrEqual(1);
    expect(summary.latency_ms.p95).toBeGreaterThan(0);
  });

  it('every new command has --help', () => {
    for (const cmd of ['export', 'serve', 'monitor', 'data feedback']) {
      const r = tabtune(...cmd.split(' '), '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain('Usage: tabtune');
    }
  });
});
