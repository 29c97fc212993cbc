/**
 * The Workbench's chat-page export: the page's built files (handed over by the app, which serves
 * them), `page.json`, and the run's merged model under `model/`, as one zip that any static file
 * host serves. The page then runs the fine-tuned model in the browser with no server of its own.
 */
import { zipFolder } from '../formats/zip.ts';
import type { ExportedFile } from './api.ts';
import type { ModelHost } from './model-host.ts';
import type { RunLibrary } from './runs.ts';

/** Answers on the page stop after this many tokens (the model's own stop tokens usually end them first). */
const MAX_NEW_TOKENS = 128;

const safeName = (name: string) => name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';

export class ChatPageExport {
  constructor(
    private readonly host: ModelHost,
    private readonly runs: RunLibrary,
  ) {}

  async export(runId: string, page: Readonly<Record<string, Uint8Array>>): Promise<ExportedFile> {
    if (!page['index.html']) throw new Error('the chat page files have no index.html');
    const run = await this.runs.get(runId);
    await this.host.requireModel();
    const model = run.config?.method === 'full' ? await this.runs.files(runId) : await (await this.host.attachRunAdapter(runId)).saveMerged();
    if (!model['model.safetensors'] || !model['tokenizer.json']) throw new Error('the merged model has no weights or no tokenizer.json: the page needs both');
    const files: Record<string, Uint8Array> = { ...page };
    files['page.json'] = new TextEncoder().encode(JSON.stringify({ title: run.name, maxNewTokens: MAX_NEW_TOKENS }, null, 1));
    for (const [name, bytes] of Object.entries(model)) files[`model/${name}`] = bytes;
    const folder = `${safeName(run.name)}-chat`;
    return { name: `${folder}.zip`, bytes: zipFolder(folder, files), mime: 'application/zip' };
  }
}
