import * as Comlink from 'comlink';
import { Workbench } from '../core/workspace/workbench.ts';
import { acquireBrowserGpu } from '../platform/browser-gpu.ts';
import { fetchTree, localTree } from '../platform/browser-files.ts';
import { cachedRepos, hubModelTree } from '../platform/hub.ts';
import { IdbStore } from '../platform/idb-store.ts';
import { RewardSandbox, spawnRewardWorker } from './reward-sandbox.ts';

const DEMO_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];
const DEMO_OPTIONAL = ['generation_config.json', 'tokenizer_config.json', 'chat_template.jinja'];

/** GRPO rewards run in their own Worker, started from this one; each run's functions replace the last's. */
let rewards: RewardSandbox | null = null;

/** The training Worker: the workbench over the browser's WebGPU, IndexedDB, Cache Storage and files. */
const workbench = new Workbench({
  acquireGpu: acquireBrowserGpu,
  store: new IdbStore(),
  async openModel(source, files, onProgress) {
    if (source.kind === 'demo') {
      const base = new URL(`${import.meta.env.BASE_URL}models/demo-base/`, self.location.origin).href;
      return fetchTree('demo-base', base, DEMO_FILES, DEMO_OPTIONAL, (file, done, total) => onProgress?.({ phase: 'download', file, done, total }));
    }
    if (source.kind === 'hub') {
      return hubModelTree(source.repo, source.revision, {
        base: source.base,
        onProgress: (p) => onProgress?.({ phase: 'download', file: p.file, done: p.done, total: p.total, cached: p.cached }),
      });
    }
    if (!files?.length) throw new Error('pick or drop a model folder (config.json, model.safetensors, tokenizer.json)');
    return localTree(source.name, files);
  },
  cachedModels: cachedRepos,
  localTree,
  loadRewards(name, source, timeoutMs) {
    rewards?.dispose();
    rewards = new RewardSandbox(spawnRewardWorker, timeoutMs);
    return rewards.load(name, source);
  },
});

Comlink.expose(workbench);
