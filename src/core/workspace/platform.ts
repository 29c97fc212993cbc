import type { FileTree } from '../formats/bytes.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { LoadProgress, LocalFile, ModelSource } from './api.ts';
import type { KeyValueStore } from './store.ts';
import type { RewardSandboxLoader } from './grpo-runs.ts';

/** What the browser (or Node, in tests) provides to the workbench. */
export interface WorkbenchPlatform {
  acquireGpu(): Promise<Gpu>;
  readonly store: KeyValueStore;
  /** A model folder for a source: the app's demo files, a Hub download (cached), or the user's files. */
  openModel(source: ModelSource, files: readonly LocalFile[] | null, onProgress?: (p: LoadProgress) => void): Promise<FileTree>;
  cachedModels(): Promise<{ repo: string; revision: string; bytes: number }[]>;
  localTree(name: string, files: readonly LocalFile[]): FileTree;
  /** GRPO reward functions in a sandbox with a time limit per call (absent: no GRPO runs). */
  readonly loadRewards?: RewardSandboxLoader;
}
