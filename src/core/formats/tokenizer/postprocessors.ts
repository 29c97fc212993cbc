import type { JsonReader } from './config.ts';

/**
 * The part of a post-processor that matters for single sequences: the ids it puts before and
 * after the encoded text when special tokens are added.
 */
export interface PostProcessor {
  readonly before: readonly number[];
  readonly after: readonly number[];
}

export const POSTPROCESSOR_TYPES = ['TemplateProcessing', 'ByteLevel', 'RobertaProcessing', 'BertProcessing', 'Sequence'] as const;

const NONE: PostProcessor = { before: [], after: [] };

function clsSep(r: JsonReader, obj: Record<string, unknown>, path: string): PostProcessor {
  const id = (key: string): number => {
    const v = r.array(obj[key], `${path}.${key}`);
    return r.int(v[1], `${path}.${key}[1]`);
  };
  return { before: [id('cls')], after: [id('sep')] };
}

function template(r: JsonReader, obj: Record<string, unknown>, path: string): PostProcessor {
  const specials = r.object(obj['special_tokens'] ?? {}, `${path}.special_tokens`);
  const single = r.array(obj['single'], `${path}.single`);
  const before: number[] = [];
  const after: number[] = [];
  let seen = false;
  single.forEach((item, k) => {
    const p = `${path}.single[${k}]`;
    const o = r.object(item, p);
    if (o['Sequence'] !== undefined) {
      seen = true;
      return;
    }
    if (o['SpecialToken'] === undefined) r.fail(p, 'expected {"Sequence": ...} or {"SpecialToken": ...}');
    const name = r.string(r.object(o['SpecialToken'], `${p}.SpecialToken`)['id'], `${p}.SpecialToken.id`);
    const entry = specials[name];
    if (entry === undefined) r.fail(p, `special token "${name}" is not in special_tokens`);
    const ids = r.array(r.object(entry, `${path}.special_tokens.${name}`)['ids'], `${path}.special_tokens.${name}.ids`);
    const target = seen ? after : before;
    ids.forEach((x, j) => target.push(r.int(x, `${path}.special_tokens.${name}.ids[${j}]`)));
  });
  return { before, after };
}

export function buildPostProcessor(r: JsonReader, value: unknown, path: string): PostProcessor {
  if (value === null || value === undefined) return NONE;
  const obj = r.object(value, path);
  const type = r.type(obj, path, 'post-processor', POSTPROCESSOR_TYPES);
  switch (type) {
    case 'ByteLevel':
      return NONE;
    case 'TemplateProcessing':
      return template(r, obj, path);
    case 'RobertaProcessing':
    case 'BertProcessing':
      return clsSep(r, obj, path);
    case 'Sequence': {
      const list = r.array(obj['processors'], `${path}.processors`);
      const before: number[] = [];
      const after: number[] = [];
      list.forEach((p, k) => {
        const pp = buildPostProcessor(r, p, `${path}.processors[${k}]`);
        before.unshift(...pp.before);
        after.push(...pp.after);
      });
      return { before, after };
    }
  }
  return r.fail(path, `unhandled post-processor type "${type}"`);
}
