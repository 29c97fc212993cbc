/**
 * The Workbench's export concern: a run's adapter, merged model or manifest as downloadable files,
 * and a PEFT adapter folder brought in as a run of its own.
 */
import { zipFolder } from '../formats/zip.ts';
import { readPeftAdapter } from '../model/lora.ts';
import { trainConfig } from '../train/config.ts';
import { adapterReadme } from './adapter-readme.ts';
import type { ExportedFile, LocalFile, RunSummary } from './api.ts';
import type { ModelHost } from './model-host.ts';
import type { WorkbenchPlatform } from './platform.ts';
import type { RunControl } from './run-control.ts';
import type { RunLibrary } from './runs.ts';

/** A folder name from a run name: letters, digits, dots and dashes. */
const safeName = (name: string) => name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';

const zipped = (folder: string, files: Readonly<Record<string, Uint8Array>>): ExportedFile => ({
  name: `${folder}.zip`, bytes: zipFolder(folder, files), mime: 'application/zip',
});

export class Exports {
  constructor(
    private readonly platform: WorkbenchPlatform,
    private readonly host: ModelHost,
    private readonly runs: RunLibrary,
    private readonly control: RunControl,
  ) {}

  async adapter(runId: string): Promise<ExportedFile> {
    const run = await this.runs.get(runId);
    const files = await this.runs.files(runId);
    const pick = ['adapter_config.json', 'adapter_model.safetensors'].filter((f) => files[f]);
    if (pick.length < 2) throw new Error('this run has no LoRA adapter (full fine-tuning: export the merged model)');
    const readme = new TextEncoder().encode(adapterReadme(run));
    return zipped(`${safeName(run.name)}-adapter`, { ...Object.fromEntries(pick.map((f) => [f, files[f]!])), 'README.md': readme });
  }

  async merged(runId: string): Promise<ExportedFile> {
    const run = await this.runs.get(runId);
    await this.host.requireModel();
    if (run.config?.method === 'full') return zipped(`${safeName(run.name)}-model`, await this.runs.files(runId));
    const s = await this.host.attachRunAdapter(runId);
    return zipped(`${safeName(run.name)}-merged`, await s.saveMerged());
  }

  async manifest(runId: string): Promise<ExportedFile[]> {
    const files = await this.runs.files(runId);
    const out: ExportedFile[] = [];
    for (const [name, mime] of [['run_manifest.json', 'application/json'], ['trl_config.yaml', 'text/yaml'], ['train_trl.py', 'text/x-python'],
      ['cpt_eval.json', 'application/json']] as const) {
      if (files[name]) out.push({ name, bytes: files[name]!, mime });
    }
    if (!out.length) throw new Error('this run has no manifest yet (it is written when a run ends)');
    return out;
  }

  async importAdapter(name: string, files: readonly LocalFile[]): Promise<RunSummary> {
    const s = await this.host.requireModel();
    const tree = this.platform.localTree(name, files);
    const read = await readPeftAdapter(s.requireModel().cfg, tree);
    const stored: Record<string, Uint8Array> = {};
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      const src = await tree.open(f);
      if (src) stored[f] = await src.read(0, src.size);
    }
    const st = read.settings;
    const config = trainConfig({ lora: { r: st.r, alpha: st.alpha, dropout: st.dropout, rslora: st.rslora, targets: [...st.targets] } });
    const run = await this.runs.create({
      name, state: 'imported', model: { name: s.info().name, source: this.host.source }, dataset: null, config, seq: 0, totalSteps: 0,
    });
    await this.runs.saveFiles(run.id, stored);
    return this.control.view(await this.runs.update(run.id, { hasAdapter: true }));
  }
}
