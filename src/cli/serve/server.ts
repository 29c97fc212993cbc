import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ContentCheck } from '../../core/serve/content-check.ts';
import { AlertMonitor, Metrics, type FeedbackRecord, type LogRecord, type RequestRecord } from '../../core/serve/monitor.ts';
import {
  ApiError,
  parseChatRequest,
  parseCompletionRequest,
  parseJsonBody,
  type ChatRequest,
  type CompletionRequest,
  type RequestLimits,
} from '../../core/serve/openai-request.ts';
import type { Engine } from './engine.ts';
import { Slots } from './slots.ts';

export interface ServerOptions {
  readonly apiKey: string | null;
  readonly maxBodyBytes: number;
  readonly limits: RequestLimits;
  readonly concurrency: number;
  readonly queue: number;
  readonly check: ContentCheck;
  readonly alerts: AlertMonitor;
  /** Appends one record to the JSONL log (null: no log; feedback is then refused). */
  readonly log: ((r: LogRecord) => void) | null;
  /** Alerts are printed for people too. */
  readonly onAlert: (message: string) => void;
}

interface Answered {
  readonly id: string;
  readonly adapter: string | null;
  readonly prompt: FeedbackRecord['prompt'];
  readonly completion: string;
}

const REMEMBERED = 10_000;

/** The OpenAI-compatible HTTP server with its monitoring. Node's http module only. */
export class ModelServer {
  readonly metrics = new Metrics();
  readonly slots: Slots;
  private readonly answered = new Map<string, Answered>();
  readonly http: Server;

  constructor(
    private readonly engine: Engine,
    private readonly o: ServerOptions,
  ) {
    this.slots = new Slots(o.concurrency, o.queue);
    this.http = createServer((req, res) => void this.handle(req, res));
    // Generation can keep the event loop busy for seconds; a short idle timeout races clients' reuse.
    this.http.keepAliveTimeout = 65_000;
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.o.apiKey) return true;
    const got = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const want = Buffer.from(this.o.apiKey);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    try {
      if (!this.authorized(req)) throw new ApiError(401, 'a valid API key is required (Authorization: Bearer KEY)', null, 'invalid_api_key');
      if (route === 'GET /v1/models') {
        return json(res, 200, { object: 'list', data: this.engine.modelIds().map((id) => ({ id, object: 'model', created: 0, owned_by: 'tabtune' })) });
      }
      if (route === 'GET /metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        return void res.end(this.metrics.text({ inFlight: this.slots.inFlight, queued: this.slots.queued }));
      }
      if (route === 'POST /v1/chat/completions' || route === 'POST /v1/completions') return await this.complete(req, res, url.pathname);
      if (route === 'POST /v1/feedback') return await this.feedback(req, res);
      throw new ApiError(404, `no route ${route}`, null, 'not_found');
    } catch (e) {
      sendError(res, e);
    }
  }

  private async complete(req: IncomingMessage, res: ServerResponse, endpoint: string): Promise<void> {
    const started = performance.now();
    const chat = endpoint.endsWith('/chat/completions');
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const closed = new AbortController();
    res.on('close', () => { if (!res.writableFinished) closed.abort(); });
    let adapter: string | null = null;
    let tokensIn = 0;
    let flagsPrompt: string[] = [];
    let result: { text: string; tokensOut: number; ttftMs: number | null; flags: string[] } | null = null;
    let status = 200;
    let error: string | null = null;
    try {
      const body = parseJsonBody(await readBody(req, this.o.maxBodyBytes));
      const r: ChatRequest | CompletionRequest = chat ? parseChatRequest(body, this.o.limits) : parseCompletionRequest(body, this.o.limits);
      adapter = this.engine.adapterFor(r.model);
      const promptText = r.kind === 'chat' ? r.messages.map((m) => m.content).join('\n') : r.prompt;
      flagsPrompt = this.o.check.check(promptText).flags;
      const prompt = this.engine.promptIds(r);
      tokensIn = prompt.length;
      const release = await this.slots.acquire(closed.signal);
      try {
        // Streaming with redaction holds the text back: a detector needs the whole output.
        const live = r.stream && this.o.check.mode !== 'redact';
        if (r.stream) startStream(res);
        if (r.stream && chat) sse(res, chunk(id, created, r.model, true, { role: 'assistant', content: '' }, null));
        const out = await this.engine.run(r, prompt, {
          signal: closed.signal,
          onText: live ? (delta) => sse(res, chunk(id, created, r.model, chat, chat ? { content: delta } : delta, null)) : undefined,
        });
        const checked = this.o.check.check(out.text);
        result = { text: checked.text, tokensOut: out.tokensOut, ttftMs: out.ttftMs, flags: checked.flags };
        const usage = { prompt_tokens: out.tokensIn, completion_tokens: out.tokensOut, total_tokens: out.tokensIn + out.tokensOut };
        this.remember({ id, adapter, prompt: r.kind === 'chat' ? r.messages : r.prompt, completion: checked.text });
        if (r.stream) {
          if (!live && checked.text) sse(res, chunk(id, created, r.model, chat, chat ? { content: checked.text } : checked.text, null));
          sse(res, { ...chunk(id, created, r.model, chat, chat ? {} : '', out.finish), usage });
          res.end('data: [DONE]\n\n');
        } else {
          const choice = chat
            ? { index: 0, message: { role: 'assistant', content: checked.text, refusal: null }, logprobs: null, finish_reason: out.finish }
            : { index: 0, text: checked.text, logprobs: null, finish_reason: out.finish };
          json(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: r.model, choices: [choice], usage });
        }
      } finally {
        release();
      }
    } catch (e) {
      status = e instanceof ApiError ? e.status : 500;
      error = (e as Error).message;
      if (res.headersSent) {
        if (!res.writableEnded && !closed.signal.aborted) {
          sse(res, e instanceof ApiError ? e.body() : new ApiError(500, error).body());
          res.end('data: [DONE]\n\n');
        }
      } else {
        sendError(res, e);
      }
    }
    const latency = performance.now() - started;
    const gen = result && result.ttftMs !== null ? latency - result.ttftMs : null;
    this.record({
      type: 'request', time: new Date().toISOString(), id, endpoint, adapter, status,
      latency_ms: round(latency), ttft_ms: result?.ttftMs != null ? round(result.ttftMs) : null,
      tokens_in: tokensIn, tokens_out: result?.tokensOut ?? 0,
      tokens_per_s: result && gen && gen > 0 && result.tokensOut > 1 ? round(((result.tokensOut - 1) * 1000) / gen) : null,
      error, flags_prompt: flagsPrompt, flags_output: result?.flags ?? [],
    });
  }

  private record(r: RequestRecord): void {
    this.metrics.observe(r);
    this.o.log?.(r);
    for (const a of this.o.alerts.observe(r, Date.now())) {
      this.metrics.countAlert();
      this.o.log?.(a);
      this.o.onAlert(`ALERT ${a.rule} = ${a.value.toFixed(3)} > ${a.threshold} over the last ${a.window_s}s (${a.requests} requests)`);
    }
  }

  private remember(a: Answered): void {
    this.answered.set(a.id, a);
    if (this.answered.size > REMEMBERED) this.answered.delete(this.answered.keys().next().value!);
  }

  private async feedback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseJsonBody(await readBody(req, this.o.maxBodyBytes));
    if (!this.o.log) throw new ApiError(501, 'feedback needs a log: start the server with --log FILE', null, 'no_log');
    const id = body['id'];
    if (typeof id !== 'string') throw new ApiError(400, 'id must be the id of a response', 'id');
    const answered = this.answered.get(id);
    if (!answered) throw new ApiError(404, `no response with id "${id}" (only the last ${REMEMBERED} are kept)`, 'id');
    const rating = body['rating'] ?? null;
    const preferred = body['preferred'] ?? null;
    if (rating !== null && (typeof rating !== 'number' || !Number.isFinite(rating))) {
      throw new ApiError(400, 'rating must be a number (+1 good, -1 bad)', 'rating');
    }
    if (preferred !== null && (typeof preferred !== 'string' || preferred === '')) {
      throw new ApiError(400, 'preferred must be a non-empty string', 'preferred');
    }
    if (rating === null && preferred === null) throw new ApiError(400, 'give a rating, a preferred answer, or both', 'rating');
    const record: FeedbackRecord = {
      type: 'feedback', time: new Date().toISOString(), id, adapter: answered.adapter,
      prompt: answered.prompt, completion: answered.completion, rating: rating as number | null, preferred: preferred as string | null,
    };
    this.o.log(record);
    this.metrics.countFeedback();
    json(res, 200, { id, object: 'feedback', stored: true });
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

function chunk(id: string, created: number, model: string, chat: boolean, delta: unknown, finish: string | null): Record<string, unknown> {
  return chat
    ? { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }
    : { id, object: 'text_completion', created, model, choices: [{ index: 0, text: delta, logprobs: null, finish_reason: finish }] };
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

function sse(res: ServerResponse, obj: unknown): void {
  if (!res.writableEnded) res.write(`data: ${JSON.stringify(obj)}\n\n`);
}

function json(res: ServerResponse, status: number, obj: unknown): void {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof ApiError ? e : new ApiError(500, (e as Error).message ?? String(e));
  if (res.headersSent || res.writableEnded || err.status === 499) return void res.end();
  json(res, err.status, err.body());
}

/** The request body as text; a body over the limit is read to its end (so the client sees the answer) and refused. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) parts.push(c);
    });
    req.on('end', () => {
      if (size > limit) reject(new ApiError(413, `the request body is ${size} bytes; the limit is ${limit}`, null, 'request_too_large'));
      else resolve(Buffer.concat(parts).toString('utf8'));
    });
    req.on('error', reject);
  });
}
