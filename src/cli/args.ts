/**
 * A command-line flag: `--name VALUE`, or a boolean `--name` / `--no-name`. Each command declares
 * its flags once; that one schema gives the parser, the `--help` text, the range checks and the
 * typed options object the command reads (`options`).
 */
export interface FlagSpec {
  readonly name: string;
  readonly kind: 'string' | 'number' | 'int' | 'boolean' | 'list';
  readonly help: string;
  readonly value?: string;
  readonly default?: string | number | boolean;
  /** Numbers: the allowed range; `min`/`max` are included, `above`/`below` excluded. */
  readonly min?: number;
  readonly max?: number;
  readonly above?: number;
  readonly below?: number;
  /** Strings (and each item of a list): the only values allowed. */
  readonly choices?: readonly string[];
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
    const again = typed.has(name);
    typed.add(name);
    if (f.kind === 'boolean') {
      out[name] = !negated;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value (${f.value ?? f.kind})`);
    const value = convert(f, raw);
    // A list flag given again adds to the list (--adapter a=DIR --adapter b=DIR).
    out[name] = again && f.kind === 'list' && Array.isArray(value) ? [...(out[name] as string[]), ...value] : value;
  }
  return out;
}

function convert(f: FlagSpec, raw: string): string | number | string[] {
  if (f.kind === 'string') {
    const problem = flagProblem(f, raw);
    if (problem) throw new UsageError(problem);
    return raw;
  }
  if (f.kind === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${f.name} needs a number, got "${raw}"`);
  const problem = flagProblem(f, n);
  if (problem) throw new UsageError(problem);
  return n;
}

/** `max-seq-len` → `maxSeqLen`. */
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;

type FlagValue<F extends FlagSpec> = F['kind'] extends 'boolean'
  ? boolean
  : F['kind'] extends 'list'
    ? F extends { readonly choices: readonly (infer C)[] } ? C[] : string[]
    : F['kind'] extends 'int' | 'number'
      ? number
      : F extends { readonly choices: readonly (infer C)[] }
        ? C
        : string;

/** Flags with a default (and booleans, false unless given) always have a value. */
type Always<F extends FlagSpec> = F extends { readonly default: string | number | boolean } ? true : F['kind'] extends 'boolean' ? true : false;

/** The typed options of a command: one camel-cased field per flag, plus `json` and `given`. */
export type Options<Fs extends readonly FlagSpec[]> = {
  readonly [F in Fs[number] as Camel<F['name']>]: Always<F> extends true ? FlagValue<F> : FlagValue<F> | undefined;
} & {
  readonly json: boolean;
  /** Flags the user typed (as opposed to defaults). */
  readonly given: ReadonlySet<string>;
};

const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** One line naming the flag and the rule its value breaks; null when it keeps every rule. */
export function flagProblem(f: FlagSpec, v: unknown): string | null {
  if (typeof v === 'number') {
    if (f.kind === 'int' && !Number.isInteger(v)) return `--${f.name} needs an integer, got ${v}`;
    if (f.min !== undefined && !(v >= f.min)) return `--${f.name} must be ≥ ${f.min}, got ${v}`;
    if (f.max !== undefined && !(v <= f.max)) return `--${f.name} must be ≤ ${f.max}, got ${v}`;
    if (f.above !== undefined && !(v > f.above)) return `--${f.name} must be > ${f.above}, got ${v}`;
    if (f.below !== undefined && !(v < f.below)) return `--${f.name} must be < ${f.below}, got ${v}`;
  }
  if (typeof v === 'string' && f.choices && !f.choices.includes(v)) return `--${f.name} must be one of ${f.choices.join(', ')}, got "${v}"`;
  const choices = f.choices;
  if (Array.isArray(v) && choices) {
    const bad = v.find((x) => !choices.includes(String(x)));
    if (bad !== undefined) return `--${f.name} takes ${choices.join(', ')}, got "${bad}"`;
  }
  return null;
}

/**
 * The typed options of a parsed command line: every value checked against its flag's range or
 * choices (defaults and values filled in from elsewhere, e.g. a run manifest, included).
 */
export function options<const Fs extends readonly FlagSpec[]>(spec: { readonly flags: Fs }, p: Parsed): Options<Fs> {
  const out: Record<string, unknown> = { json: p.json === true, given: given(p) };
  for (const f of spec.flags) {
    let v: unknown = p[f.name];
    if (f.kind === 'boolean') v = v === true;
    if (f.kind === 'list' && typeof v === 'string') v = v.split(',').map((x) => x.trim()).filter(Boolean);
    const problem = flagProblem(f, v);
    if (problem) throw new UsageError(problem);
    out[camel(f.name)] = v;
  }
  // The one place where the schema meets its type: every field above was built from `spec.flags`.
  return out as Options<Fs>;
}

export function helpText(spec: CommandSpec): string {
  const flags = [...spec.flags, JSON_FLAG, HELP_FLAG];
  const width = Math.max(...flags.map((f) => flagLabel(f).length));
  const lines = [`tabtune ${spec.name}: ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  for (const f of flags) {
    const def = f.default !== undefined && f.kind !== 'boolean' ? ` (default: ${f.default})` : '';
    const range = rangeText(f);
    lines.push(`  ${flagLabel(f).padEnd(width)}  ${f.help}${range ? ` [${range}]` : ''}${def}`);
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

function rangeText(f: FlagSpec): string {
  const parts = [
    f.min !== undefined ? `≥ ${f.min}` : '', f.above !== undefined ? `> ${f.above}` : '',
    f.max !== undefined ? `≤ ${f.max}` : '', f.below !== undefined ? `< ${f.below}` : '',
  ];
  return parts.filter(Boolean).join(', ');
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

/** The value of a flag the command cannot do without. */
export function required<T>(v: T | undefined, flag: string): T {
  if (v === undefined) throw new UsageError(`--${flag} is required`);
  return v;
}
