/**
 * The exported chat page: the fine-tuned model from `model/` (beside this page) in a Worker, a
 * conversation rendered with the model's own chat template and stop tokens. Settings come from
 * `page.json`, written at export.
 */
import * as Comlink from 'comlink';
import type { ChatPageApi } from '../../worker/chat-worker.ts';
import './chat.css';

interface PageSettings {
  readonly title: string;
  readonly maxNewTokens: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const log = $<HTMLOListElement>('log');
const message = $<HTMLTextAreaElement>('message');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const turns: { role: 'user' | 'assistant'; content: string }[] = [];

const worker = new Worker(new URL('../../worker/chat-worker.ts', import.meta.url), { type: 'module' });
const model = Comlink.wrap<ChatPageApi>(worker);

function bubble(role: 'user' | 'assistant', text: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = role;
  li.textContent = text;
  log.append(li);
  return li;
}

async function start(): Promise<PageSettings> {
  const res = await fetch(new URL('page.json', document.baseURI));
  if (!res.ok) throw new Error(`page.json: HTTP ${res.status}`);
  const page = (await res.json()) as PageSettings;
  document.title = `${page.title} · chat`;
  $('title').textContent = page.title;
  const info = await model.load(
    new URL('model/', document.baseURI).href, page.title,
    Comlink.proxy((what: string, done: number, total: number) => {
      status.textContent = `${what}${total ? ` (${Math.round((100 * done) / total)}%)` : ''}…`;
    }),
  );
  status.textContent = `Ready: ${(info.parameters / 1e6).toFixed(1)}M parameters on ${info.adapter}.`;
  send.disabled = false;
  return page;
}

async function ask(page: PageSettings): Promise<void> {
  const text = message.value.trim();
  if (!text) return;
  message.value = '';
  turns.push({ role: 'user', content: text });
  bubble('user', text);
  const answer = bubble('assistant', '…');
  answer.setAttribute('aria-busy', 'true');
  send.disabled = true;
  stop.disabled = false;
  let streamed = '';
  try {
    const reply = await model.chat(turns, { maxNewTokens: page.maxNewTokens, greedy: true }, Comlink.proxy((t: { text: string }) => {
      streamed += t.text;
      answer.textContent = streamed;
    }));
    answer.textContent = reply;
    turns.push({ role: 'assistant', content: reply });
  } catch (e) {
    answer.textContent = `Error: ${(e as Error).message}`;
    turns.pop();
  } finally {
    answer.removeAttribute('aria-busy');
    send.disabled = false;
    stop.disabled = true;
  }
}

void start().then(
  (page) => {
    $('ask').addEventListener('submit', (e) => {
      e.preventDefault();
      void ask(page);
    });
  },
  (e: Error) => {
    status.textContent = `The model could not be loaded: ${e.message}`;
  },
);
stop.addEventListener('click', () => void model.stop());
$('clear').addEventListener('click', () => {
  turns.length = 0;
  log.replaceChildren();
});
