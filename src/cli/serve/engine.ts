import type { ChatRequest, CompletionRequest } from '../../core/serve/openai-request.ts';
import { ApiError } from '../../core/serve/openai-request.ts';
import { stopSequences, templateParts } from '../../core/formats/ollama-modelfile.ts';
import type { PeftAdapterFiles } from '../../core/model/lora.ts';
import type { Session } from '../../core/session.ts';

export interface EngineResult {
  readonly text: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly finish: 'stop' | 'length';
  /** ms from the start of generation to the first token. */
  readonly ttftMs: number | null;
}

export interface RunOptions {
  readonly signal: AbortSignal;
  /** New text as it is produced (complete UTF-8 characters only). */
  readonly onText?: (delta: string) => void;
}

/**
 * One model and its adapters behind the OpenAI endpoints. The `model` field names the base model
 * or an adapter; requests run one at a time on the session (the server queues them).
 */
export class Engine {
  private active: string | null = null;
  /** Token ids that end an assistant turn in the chat template (ChatML's <|im_end|>). */
  private readonly turnEnd: number[];

  constructor(
    private readonly session: Session,
    readonly baseName: string,
    private readonly adapters: ReadonlyMap<string, PeftAdapterFiles>,
    private readonly maxPositions: number,
  ) {
    const tok = session.tokenizer;
    let ids: number[] = [];
    if (tok?.chatTemplate) {
      try {
        const parts = templateParts((m, gen) => tok.applyChatTemplate(m, { addGenerationPrompt: gen }));
        const specials = tok.addedTokens.filter((t) => t.special).map((t) => t.content);
        ids = stopSequences(parts, undefined, specials).map((s) => tok.tokenToId(s)).filter((x): x is number => x !== undefined);
      } catch {
        ids = [];
      }
    }
    this.turnEnd = ids;
  }

  modelIds(): string[] {
    return [this.baseName, ...this.adapters.keys()];
  }

  /** The adapter a model id selects (null: the base), or a 404. */
  adapterFor(model: string): string | null {
    if (model === this.baseName) return null;
    if (this.adapters.has(model)) return model;
    throw new ApiError(404, `the model "${model}" does not exist (models: ${this.modelIds().join(', ')})`, 'model', 'model_not_found');
  }

  /** Token ids of the prompt as `tabtune generate` makes them (--chat for messages). */
  promptIds(req: ChatRequest | CompletionRequest): number[] {
    const tok = this.session.tokenizer;
    if (!tok) throw new ApiError(500, 'the model has no tokenizer');
    if (req.kind === 'completion') return tok.encode(req.prompt, { addSpecialTokens: true });
    if (!tok.chatTemplate) throw new ApiError(400, 'this model has no chat template; use /v1/completions', 'messages');
    return tok.encode(tok.applyChatTemplate(req.messages, { addGenerationPrompt: true }));
  }

  async run(req: ChatRequest | CompletionRequest, prompt: number[], o: RunOptions): Promise<EngineResult> {
    const adapter = this.adapterFor(req.model);
    if (prompt.length + req.maxTokens > this.maxPositions) {
      throw new ApiError(400,
        `the prompt (${prompt.length} tokens) plus max_tokens (${req.maxTokens}) exceed the model's ${this.maxPositions} positions`, 'max_tokens');
    }
    if (adapter !== this.active) {
      // All adapters go to the GPU once, over the one base; switching then reloads nothing.
      if (this.session.adapterNames.length !== this.adapters.size) {
        await this.session.loadAdapters([...this.adapters].map(([name, from]) => ({ name, from })));
      }
      this.session.useAdapter(adapter);
      this.active = adapter;
    }
    const tok = this.session.tokenizer!;
    const ids: number[] = [];
    let shown = '';
    let stopped = false;
    const started = performance.now();
    let ttft: number | null = null;
    const stops = req.stop;
    const holdBack = stops.length ? Math.max(...stops.map((s) => s.length)) - 1 : 0;
    const local = new AbortController();
    const abort = (): void => local.abort();
    o.signal.addEventListener('abort', abort);
    try {
      const g = await this.session.generate(prompt, {
        maxNewTokens: req.maxTokens,
        greedy: req.temperature === 0,
        temperature: req.temperature || 1,
        topP: req.topP,
        seed: req.seed ?? Math.floor(Math.random() * 2 ** 31),
        stopTokens: req.kind === 'chat' ? this.turnEnd : [],
        signal: local.signal,
        onToken: (id) => {
          ttft ??= performance.now() - started;
          ids.push(id);
          if (stopped) return;
          let text = tok.decode(ids, { skipSpecialTokens: true });
          if (text.endsWith('\uFFFD')) return;
          const at = Math.min(...stops.map((s) => text.indexOf(s)).filter((i) => i >= 0), Infinity);
          if (at !== Infinity) {
            text = text.slice(0, at);
            stopped = true;
            local.abort();
          }
          const upTo = stopped ? text.length : Math.max(shown.length, text.length - holdBack);
          if (upTo > shown.length) {
            o.onText?.(text.slice(shown.length, upTo));
            shown = text.slice(0, upTo);
          }
        },
      });
      if (o.signal.aborted) throw new ApiError(499, 'the client closed the connection');
      let text = stopped ? shown : tok.decode(g.ids, { skipSpecialTokens: true });
      if (!stopped && text.length > shown.length) o.onText?.(text.slice(shown.length));
      if (stopped) text = shown;
      return { text, tokensIn: prompt.length, tokensOut: g.ids.length, finish: g.stopReason === 'length' && !stopped ? 'length' : 'stop', ttftMs: ttft };
    } finally {
      o.signal.removeEventListener('abort', abort);
    }
  }
}
