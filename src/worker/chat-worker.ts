/**
 * The exported chat page's Worker: one model read from the page's own `model/` folder, answering
 * chat messages through the core's one generation path. Nothing is stored and nothing is sent.
 */
import * as Comlink from 'comlink';
import { generateText, promptIds, type StreamedToken } from '../core/pipeline/generate.ts';
import { Session } from '../core/session.ts';
import { acquireBrowserGpu } from '../platform/browser-gpu.ts';
import { fetchTree } from '../platform/browser-files.ts';

const REQUIRED = ['config.json', 'model.safetensors', 'tokenizer.json'];
const OPTIONAL = ['generation_config.json', 'tokenizer_config.json', 'chat_template.jinja'];

export interface ChatModelInfo {
  readonly name: string;
  readonly parameters: number;
  readonly hasChatTemplate: boolean;
  readonly adapter: string;
}

export interface ChatSampling {
  readonly maxNewTokens: number;
  readonly greedy?: boolean;
  readonly temperature?: number;
  readonly topP?: number;
  readonly seed?: number;
}

class ChatPageModel {
  private session: Session | null = null;
  private abort: AbortController | null = null;

  /** `base`: the model folder's URL (the page's `model/`); `name` is shown on the page. */
  async load(base: string, name: string, onProgress?: (what: string, done: number, total: number) => void): Promise<ChatModelInfo> {
    const session = new Session(await acquireBrowserGpu());
    const tree = await fetchTree(name, base, REQUIRED, OPTIONAL, (file, done, total) => onProgress?.(`downloading ${file}`, done, total));
    const info = await session.loadModel(tree, (done, total) => onProgress?.('loading the weights', done, total));
    this.session = session;
    return { name, parameters: info.parameters, hasChatTemplate: info.hasChatTemplate, adapter: info.gpu.description || info.gpu.vendor };
  }

  async chat(messages: readonly { role: string; content: string }[], sampling: ChatSampling, onToken?: (t: StreamedToken) => void): Promise<string> {
    const s = this.session;
    if (!s) throw new Error('the model is not loaded yet');
    this.abort = new AbortController();
    try {
      const prompt = s.tokenizer?.chatTemplate ? { messages } : { text: messages.map((m) => m.content).join('\n') };
      // The answer fits what is left of the model's positions after the conversation so far.
      const room = s.requireModel().cfg.maxPositions - promptIds(s, prompt).length;
      if (room < 1) throw new Error(`the conversation is longer than the model's ${s.requireModel().cfg.maxPositions} positions: start a new conversation`);
      const maxNewTokens = Math.min(sampling.maxNewTokens, room);
      const g = await generateText(s, prompt, { ...sampling, maxNewTokens, signal: this.abort.signal, onToken });
      return g.text ?? '';
    } finally {
      this.abort = null;
    }
  }

  stop(): void {
    this.abort?.abort();
  }
}

Comlink.expose(new ChatPageModel());
export type ChatPageApi = ChatPageModel;
