/** A command-line flag: `--name VALUE`, or a boolean `--name` / `--no-name`. */
export interface FlagSpec {
  readonly name: string;
  readonly kind: 'string' | 'number' | 'int' | 'boolean' | 'list';
  readonly help: string;
  readonly value?: string;
  readonly default?: string | number | boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: readonly FlagSpec[];
  readonly examples?: readonly string[];
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Parsed = Record<string, string | number | boolean | string[] | undefined>;

/** Flags the user typed (as opposed to defaults). */
export const GIVEN = Symbol('given');
export function given(p: Parsed): ReadonlySet<string> {
  return (p as unknown as { [GIVEN]: Set<string> })[GIVEN] ?? new Set();
}

const JSON_FLAG: FlagSpec = { name: 'json', kind: 'boolean', help: 'print machine-readable JSON on stdout' };
const HELP_FLAG: FlagSpec = { name: 'help', kind: 'boolean', help: 'show this help' };

/** Parses argv against a command's flags; unknown flags and bad values are usage errors. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const flags = [...spec.flags, JSON_FLAG, HELP_FLAG];
  const byName = new Map(flags.map((f) => [f.name, f]));
  const out: Parsed = {};
  const typed = new Set<string>();
  Object.defineProperty(out, GIVEN, { value: typed, enumerable: false });
  for (const f of flags) if (f.default !== undefined) out[f.name] = f.kind === 'list' && typeof f.default === 'string' ? f.default.split(',') : f.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (flags start with --)`);
    let [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const f = byName.get(name);
    if (!f) throw new UsageError(`unknown flag --${name} for "tabtune ${spec.name}" (see tabtune ${spec.name} --help)`);
    typed.add(name);
    if (f.kind === 'boolean') {
      out[name] = !negated;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value (${f.value ?? f.kind})`);
    out[name] = convert(f, raw);
  }
  return out;
}

function convert(f: FlagSpec, raw: string): string | number | string[] {
  if (f.kind === 'string') return raw;
  if (f.kind === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${f.name} needs a number, got "${raw}"`);
  if (f.kind === 'int' && !Number.isInteger(n)) throw new UsageError(`--${f.name} needs an integer, got "${raw}"`);
  return n;
}

export function helpText(spec: CommandSpec): string {
  const flags = [...spec.flags, JSON_FLAG, HELP_FLAG];
  const width = Math.max(...flags.map((f) => flagLabel(f).length));
  const lines = [`tabtune ${spec.name}: ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  for (const f of flags) {
    const def = f.default !== undefined && f.kind !== 'boolean' ? ` (default: ${f.default})` : '';
    lines.push(`  ${flagLabel(f).padEnd(width)}  ${f.help}${def}`);
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

function flagLabel(f: FlagSpec): string {
  if (f.kind === 'boolean') return `--${f.name}`;
  return `--${f.name} ${f.value ?? (f.kind === 'int' || f.kind === 'number' ? 'N' : 'VALUE')}`;
}

/** Typed accessors that turn a missing required flag into a usage error. */
export function need<T extends string | number | string[]>(p: Parsed, name: string): T {
  const v = p[name];
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v as T;
}
