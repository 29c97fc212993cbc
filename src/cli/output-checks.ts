import { checkDistinct, checkOutputFile, checkOutputFolder, type FolderKind, type NamedPath } from '../platform/node-output-paths.ts';

type Paths = Readonly<Record<string, string | undefined>>;

const named = (paths: Paths): NamedPath[] =>
  Object.entries(paths).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '').map(([flag, path]) => ({ flag, path }));

/**
 * One call per command, before any work: its output files and folder (by flag, e.g. '--out')
 * against its inputs (by flag). A zip next to the folder (`OUT.zip`) is checked as a file.
 */
interface OutputFolder {
  readonly flag: string;
  readonly path: string;
  readonly kind: FolderKind;
  /** Also OUT.zip. */
  readonly zip?: boolean;
  /** The run continues one in this folder (--resume), so its checkpoints may be there. */
  readonly resuming?: boolean;
}

export function checkOutputs(o: { inputs: Paths; files?: Paths; folder?: OutputFolder }): void {
  const inputs = named(o.inputs);
  const files = named(o.files ?? {});
  if (o.folder?.zip) files.push({ flag: `${o.folder.flag} (.zip)`, path: `${o.folder.path}.zip` });
  checkDistinct([...files, ...(o.folder ? [o.folder] : [])]);
  if (o.folder) checkOutputFolder(o.folder.flag, o.folder.path, o.folder.kind, inputs, { resuming: o.folder.resuming });
  for (const f of files) checkOutputFile(f.flag, f.path, inputs);
}
