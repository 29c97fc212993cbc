/**
 * The Workbench's GGUF downloads: a run's merged model or its adapter alone as GGUF, and the
 * Ollama Modelfile, made by the same core job as `tabtune export` (deploy/gguf-files.ts).
 */
import { ggufPlan, loraFactors, ollamaModelfile } from '../deploy/gguf-files.ts';
import { ggufChunks } from '../formats/gguf.ts';
import { prepareModel } from '../session.ts';
import type { ExportedFile, GgufRequest } from './api.ts';
import type { ModelHost } from './model-host.ts';
import type { RunLibrary } from './runs.ts';

/** A file name from a run name: letters, digits, dots and dashes. */
const safeName = (name: string) => name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';

export class GgufExports {
  constructor(
    private readonly host: ModelHost,
    private readonly runs: RunLibrary,
  ) {}

  /** The GGUF file and, beside it, the Modelfile that names it (a LoRA GGUF's names the base model as ./base.gguf). */
  async export(req: GgufRequest, onProgress?: (done: number, total: number) => void): Promise<ExportedFile[]> {
    const run = await this.runs.get(req.runId);
    const s = await this.host.requireModel();
    const tree = this.host.files;
    if (!tree) throw new Error('load a model first (Model view)');
    const prepared = await prepareModel(tree);
    if (run.config?.method === 'full') throw new Error('this run trained every weight: export its merged model and convert it with `tabtune export`');
    const lora = loraFactors(await this.host.runAdapter(req.runId), `run ${req.runId}`);
    const base = safeName(run.name);
    const fileName = `${base}${req.format === 'gguf-lora' ? '-lora' : ''}-${req.type}.gguf`;
    const plan = await ggufPlan(prepared, s.info().name, req.format, req.type, run.name, lora);
    let done = 0;
    const parts: Uint8Array[] = [];
    const tensors = plan.tensors.map((t) => ({
      info: t.info,
      data: async () => {
        onProgress?.(done++, plan.tensors.length);
        return t.data();
      },
    }));
    for await (const chunk of ggufChunks(plan.metadata, tensors)) parts.push(chunk);
    onProgress?.(plan.tensors.length, plan.tensors.length);
    const warnings: string[] = [...plan.warnings];
    const from = req.format === 'gguf' ? `./${fileName}` : './base.gguf';
    const modelfile = await ollamaModelfile(prepared, from, req.format === 'gguf-lora' ? `./${fileName}` : undefined, (w) => warnings.push(w));
    return [
      { name: fileName, bytes: concat(parts), mime: 'application/octet-stream' },
      // Not text/plain: browsers would save it as Modelfile.txt, which `ollama create` does not look for.
      { name: 'Modelfile', bytes: new TextEncoder().encode(modelfile), mime: 'application/octet-stream' },
    ];
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
