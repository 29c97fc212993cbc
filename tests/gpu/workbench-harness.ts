/** The Worker's core without the Worker: a Workbench on the Node GPU with an in-memory store, loading local folders. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Workbench } from '../../src/core/workspace/workbench.ts';
import { MemoryStore } from '../../src/core/workspace/store.ts';
import { acquireNodeGpu } from '../../src/platform/node-gpu.ts';
import { localTree } from '../../src/platform/browser-files.ts';

export async function testWorkbench(): Promise<Workbench> {
  const wb = new Workbench({
    acquireGpu: () => acquireNodeGpu(), store: new MemoryStore(), cachedModels: async () => [], localTree,
    async openModel(source, files) {
      return localTree(source.kind === 'local' ? source.name : 'x', files ?? []);
    },
  });
  await wb.init();
  return wb;
}

/** A tiny chat "language" the fixture model can learn: the assistant repeats the user's words. */
export function chatJsonl(n: number): Uint8Array {
  const words = ['sun', 'moon', 'star', 'sky', 'sea', 'tree', 'rock', 'bird'];
  const lines = Array.from({ length: n }, (_, i) => {
    const w = `${words[i % 8]} ${words[(i * 3) % 8]}`;
    return JSON.stringify({ messages: [{ role: 'user', content: `say ${w}` }, { role: 'assistant', content: w }] });
  });
  return new TextEncoder().encode(lines.join('\n'));
}

/** A model folder as the files a user picks, under `name/` (a fixture's adapter and reference files left out). */
export function pickedFolder(dir: string, name: string): { path: string; file: Blob }[] {
  return readdirSync(dir).filter((f) => f !== 'adapter' && !f.startsWith('reference'))
    .map((f) => ({ path: `${name}/${f}`, file: new Blob([readFileSync(join(dir, f))]) }));
}
