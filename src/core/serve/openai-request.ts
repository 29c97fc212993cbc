/**
 * OpenAI-compatible request bodies (`/v1/chat/completions`, `/v1/completions`) read and checked.
 * Every refusal is an ApiError carrying the HTTP status and OpenAI's error shape, so a client
 * library reports it the way it reports OpenAI's own errors.
 */
import type { ChatMessage } from '../formats/chat-template.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get type(): string {
    if (this.status === 401) return 'authentication_error';
    if (this.status === 429) return 'rate_limit_error';
    return this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface SamplingRequest {
  readonly model: string;
  readonly maxTokens: number;
  /** 0 means greedy. */
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number | null;
  readonly stream: boolean;
  readonly stop: readonly string[];
}

export interface ChatRequest extends SamplingRequest {
  readonly kind: 'chat';
  readonly messages: readonly ChatMessage[];
}

export interface CompletionRequest extends SamplingRequest {
  readonly kind: 'completion';
  readonly prompt: string;
}

export interface RequestLimits {
  /** The largest max_tokens accepted. */
  readonly maxTokens: number;
  readonly defaultMaxTokens: number;
}

type Json = Record<string, unknown>;

export function parseJsonBody(text: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON (${(e as Error).message})`, null, 'invalid_json');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'the request body must be a JSON object', null, 'invalid_json');
  return v as Json;
}

function num(body: Json, key: string, fallback: number, min: number, max: number): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ApiError(400, `${key} must be a number`, key);
  if (v < min || v > max) throw new ApiError(400, `${key} must be between ${min} and ${max}, got ${v}`, key);
  return v;
}

function sampling(body: Json, limits: RequestLimits): SamplingRequest {
  const model = body['model'];
  if (typeof model !== 'string' || !model) throw new ApiError(400, 'model is required (a string; GET /v1/models lists them)', 'model');
  const key = body['max_completion_tokens'] !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const maxTokens = num(body, key, limits.defaultMaxTokens, 1, limits.maxTokens);
  if (!Number.isInteger(maxTokens)) throw new ApiError(400, `${key} must be an integer`, key);
  const stream = body['stream'] ?? false;
  if (typeof stream !== 'boolean') throw new ApiError(400, 'stream must be true or false', 'stream');
  const seed = body['seed'];
  if (seed !== undefined && seed !== null && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
    throw new ApiError(400, 'seed must be an integer', 'seed');
  }
  const n = body['n'];
  if (n !== undefined && n !== null && n !== 1) throw new ApiError(400, 'only n = 1 is supported', 'n');
  const stopRaw = body['stop'] ?? [];
  const stop = typeof stopRaw === 'string' ? [stopRaw] : stopRaw;
  if (!Array.isArray(stop) || stop.length > 4 || stop.some((s) => typeof s !== 'string' || s === '')) {
    throw new ApiError(400, 'stop must be a string or a list of up to 4 non-empty strings', 'stop');
  }
  return {
    model, maxTokens, stream, stop: stop as string[],
    temperature: num(body, 'temperature', 1, 0, 2),
    topP: num(body, 'top_p', 1, 0, 1),
    seed: typeof seed === 'number' ? seed : null,
  };
}

const ROLES = new Set(['system', 'user', 'assistant']);

function messageText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  // The content-parts form: text parts only.
  const isText = (p: unknown): boolean => !!p && typeof p === 'object' && (p as Json)['type'] === 'text' && typeof (p as Json)['text'] === 'string';
  if (Array.isArray(content) && content.every(isText)) {
    return content.map((p) => (p as Json)['text'] as string).join('');
  }
  throw new ApiError(400, `messages[${i}].content must be a string or a list of text parts`, `messages[${i}].content`);
}

export function parseChatRequest(body: Json, limits: RequestLimits): ChatRequest {
  const base = sampling(body, limits);
  const raw = body['messages'];
  if (!Array.isArray(raw) || raw.length === 0) throw new ApiError(400, 'messages must be a non-empty list', 'messages');
  const messages = raw.map((m, i): ChatMessage => {
    if (!m || typeof m !== 'object') throw new ApiError(400, `messages[${i}] must be an object`, `messages[${i}]`);
    const role = (m as Json)['role'];
    if (typeof role !== 'string' || !ROLES.has(role === 'developer' ? 'system' : role)) {
      throw new ApiError(400, `messages[${i}].role must be system, user or assistant`, `messages[${i}].role`);
    }
    return { role: role === 'developer' ? 'system' : role, content: messageText((m as Json)['content'], i) };
  });
  return { ...base, kind: 'chat', messages };
}

export function parseCompletionRequest(body: Json, limits: RequestLimits): CompletionRequest {
  const base = sampling(body, limits);
  const prompt = body['prompt'];
  if (typeof prompt !== 'string' || prompt === '') throw new ApiError(400, 'prompt must be a non-empty string', 'prompt');
  return { ...base, kind: 'completion', prompt };
}
