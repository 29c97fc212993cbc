/**
 * Limits on rendering a chat template. Templates come with downloaded models and run
 * synchronously (in the CLI and in the training Worker), so a template that loops
 * (`range(1000000000)`) or builds a huge string would hang the process or exhaust its memory. The
 * render counts its work instead of timing it: every evaluated node is a step, every item a loop
 * goes over or `range` makes costs steps, every list evaluated costs a step per item and every
 * string one per 64 characters, and none may pass a size set by the input's size. The same template and
 * input stop at the same point on every machine.
 */
import { Environment, Interpreter, type Template } from '@huggingface/jinja';
import { InputError } from '../errors.ts';

export interface TemplateLimits {
  /** Evaluated nodes plus `range` items. */
  readonly steps: number;
  /** Characters of any one string, plus four per character of input. */
  readonly chars: number;
  /** Items of any one list, plus the items of the input's lists. */
  readonly items: number;
}

/** A message costs a real template some tens of steps; half a million is far past any of them (about a second). */
export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = { steps: 500_000, chars: 1_000_000, items: 100_000 };

/** A template stopped by a limit: the whole job stops (it would stop on every record). */
export class TemplateLimitError extends InputError {
  constructor(reason: string) {
    super('chat template', reason);
    this.name = 'TemplateLimitError';
  }
}

type Statement = NonNullable<Parameters<Interpreter['evaluate']>[0]>;
type Value = ReturnType<Interpreter['evaluate']>;

/** Steps per item a loop goes over: each item gets its own scope and `loop` variable. */
const ITEM_STEPS = 4;
/** Characters of a string per step; every item of a list is a step (list filters touch each). */
const CHARS_PER_STEP = 64;

/** A node put around a loop's iterable (an AST walk does it once per template) to count its items. */
const LOOP_ITEMS = 'TabtuneLoopItems';
interface LoopItems {
  readonly type: typeof LOOP_ITEMS;
  readonly iterable: Statement;
}
const counted = new WeakSet<object>();

function countLoopItems(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const x of node) countLoopItems(x);
    return;
  }
  for (const x of Object.values(node)) countLoopItems(x);
  const n = node as { type?: string; iterable?: Statement & { lhs?: Statement } };
  if (n.type !== 'For' || !n.iterable) return;
  // the interpreter looks for a SelectExpression (`for x in xs if cond`) by type: wrap inside it
  const holder = (n.iterable.type === 'SelectExpression' ? n.iterable : n) as { lhs?: unknown; iterable?: unknown };
  const key = holder === n ? 'iterable' : 'lhs';
  const wrapped: LoopItems = { type: LOOP_ITEMS, iterable: holder[key] as Statement };
  holder[key] = wrapped;
}

class BudgetedInterpreter extends Interpreter {
  steps = 0;

  constructor(
    env: Environment,
    private readonly limits: TemplateLimits,
    private readonly maxChars: number,
    private readonly maxItems: number,
  ) {
    super(env);
  }

  charge(n: number): void {
    this.steps += n;
    if (this.steps > this.limits.steps) {
      throw new TemplateLimitError(`stopped after ${this.limits.steps.toLocaleString('en-US')} steps (a loop that does not end, or a range() too large?)`);
    }
  }

  override evaluate(statement: Statement | undefined, environment: Environment): Value {
    this.charge(1);
    if (statement?.type === LOOP_ITEMS) {
      const items = this.evaluate((statement as unknown as LoopItems).iterable, environment);
      const v = items.value as unknown;
      this.charge(ITEM_STEPS * (Array.isArray(v) ? v.length : v instanceof Map ? v.size : 0));
      return items;
    }
    const v = super.evaluate(statement, environment);
    const size = v.type === 'StringValue' ? (v.value as string).length : v.type === 'ArrayValue' ? (v.value as unknown[]).length : 0;
    this.charge(v.type === 'StringValue' ? Math.floor(size / CHARS_PER_STEP) : size);
    if (v.type === 'StringValue' && size > this.maxChars) {
      throw new TemplateLimitError(`made a string of ${size.toLocaleString('en-US')} characters, over its limit of ${this.maxChars.toLocaleString('en-US')}`);
    }
    if (v.type === 'ArrayValue' && size > this.maxItems) {
      throw new TemplateLimitError(`made a list of ${size.toLocaleString('en-US')} items, over its limit of ${this.maxItems.toLocaleString('en-US')}`);
    }
    return v;
  }
}

/** Renders a parsed template with `vars` under the limits. */
export function renderWithBudget(template: Template, vars: Record<string, unknown>, limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS): string {
  if (!counted.has(template.parsed)) {
    countLoopItems(template.parsed);
    counted.add(template.parsed);
  }
  const env = new Environment();
  const input = inputSize(vars);
  const interpreter = new BudgetedInterpreter(env, limits, limits.chars + 4 * input.chars, limits.items + input.items);
  setGlobals(env, interpreter, limits);
  for (const [key, value] of Object.entries(vars)) env.set(key, value);
  let out: Value;
  try {
    out = interpreter.run(template.parsed);
  } catch (e) {
    // a string or list past the engine's own maximum is the same failure, met sooner
    if (e instanceof RangeError) throw new TemplateLimitError(`made a value too large to hold (${e.message})`);
    throw e;
  }
  return out.value as string;
}

/** The globals transformers gives a chat template, with `range` counting its items as steps. */
function setGlobals(env: Environment, interpreter: BudgetedInterpreter, limits: TemplateLimits): void {
  for (const [name, value] of [['false', false], ['true', true], ['none', null], ['False', false], ['True', true], ['None', null]] as const) {
    env.set(name, value);
  }
  env.set('raise_exception', (message: string) => {
    throw new Error(message);
  });
  env.set('range', (start: number, stop?: number, step = 1) => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    const n = Math.max(0, Math.ceil((stop - start) / step));
    if (n > limits.items) {
      throw new TemplateLimitError(`range() of ${n.toLocaleString('en-US')} items, over the limit of ${limits.items.toLocaleString('en-US')}`);
    }
    interpreter.charge(n);
    return Array.from({ length: n }, (_, i) => start + i * step);
  });
  env.set('strftime_now', strftimeNow);
}

/** Python's `datetime.now().strftime(format)` for the codes chat templates use. */
function strftimeNow(format: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat('en-US', { month: style }).format(d);
  const codes: Record<string, () => string> = {
    '%Y': () => String(d.getFullYear()),
    '%m': () => pad(d.getMonth() + 1),
    '%d': () => pad(d.getDate()),
    '%b': () => month('short'),
    '%B': () => month('long'),
    '%H': () => pad(d.getHours()),
    '%M': () => pad(d.getMinutes()),
    '%%': () => '%',
  };
  return format.replace(/%[YmdbBHM%]/g, (c) => codes[c]!());
}

/** Characters in the strings of the variables, and items in their lists. */
function inputSize(value: unknown): { chars: number; items: number } {
  let chars = 0;
  let items = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) {
      items += v.length;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return { chars, items };
}
