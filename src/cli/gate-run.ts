/**
 * `generate --gate DIR`: the adapters of a gate folder (train-gate) put on the loaded model under
 * their gate. The adapters come from --adapter NAME=DIR (the names must be the gate's) or, when no
 * --adapter is given, from the folders gate_config.json records.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../core/errors.ts';
import { AdapterGate } from '../core/model/adapter-gate.ts';
import { readGateAdapter, readGateConfig, readGateWeights, GATE_CONFIG } from '../core/model/adapter-gate-files.ts';
import type { Session } from '../core/session.ts';
import { nodeFileTree } from '../platform/node-files.ts';
import type { NamedAdapter } from './adapter-list.ts';

export const GATE_FLAG = {
  name: 'gate', kind: 'string', value: 'DIR',
  help: 'a gate folder from train-gate: mix its adapters per token (they come from --adapter NAME=DIR, or the folders the gate names)',
} as const;

/** Loads the gate at `dir` with its adapters and attaches it to the session's model. */
export async function attachGate(session: Session, dir: string, given: readonly NamedAdapter[]): Promise<AdapterGate> {
  const model = session.requireModel();
  const tree = nodeFileTree(resolve(dir));
  const config = await readGateConfig(tree, model.cfg);
  const file = join(resolve(dir), GATE_CONFIG);
  const byName = new Map(given.map((a) => [a.name, a.dir]));
  if (given.length) {
    const names = config.adapters.map((a) => a.name);
    if (given.length !== names.length || !names.every((n) => byName.has(n))) {
      throw new InputError(file, `the gate mixes ${names.join(', ')}; give exactly those as --adapter NAME=DIR (got ${given.map((a) => a.name).join(', ')})`);
    }
  }
  const adapters = [];
  for (const a of config.adapters) {
    const path = byName.get(a.name) ?? (a.path === null ? null : isAbsolute(a.path) ? a.path : resolve(dir, a.path));
    if (path === null) throw new InputError(file, `records no folder for adapter "${a.name}"; give it as --adapter ${a.name}=DIR`);
    const adapter = await readGateAdapter(a.name, model.cfg, nodeFileTree(path));
    const r = adapter.files.settings.r;
    if (r !== a.r) throw new InputError(join(path, 'adapter_config.json'), `r is ${r}; the gate was trained with r=${a.r}`);
    adapters.push(adapter);
  }
  const gate = await AdapterGate.create(session.gpu, model.cfg, adapters);
  gate.setValues(await readGateWeights(tree, config));
  gate.attach(model);
  return gate;
}
