import { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir } from '../common.ts';
import type { Output } from '../output.ts';

export const spec = {
  name: 'tokenize',
  summary: 'encode text with a model\'s tokenizer (tokenizer.json)',
  usage: 'tabtune tokenize --model DIR --text TEXT [--special] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'model or tokenizer-only folder (default: the demo model)' },
    { name: 'text', kind: 'string', value: 'TEXT', help: 'text to encode' },
    { name: 'special', kind: 'boolean', help: 'add the special tokens the tokenizer\'s post-processor adds' },
  ],
  examples: ['tabtune tokenize --model ./SmolLM2-135M --text "Hello world" --json'],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const text = required(o.text, 'text');
  const tok = await Tokenizer.fromTree(nodeFileTree(modelDir(o.model)));
  const ids = tok.encode(text, { addSpecialTokens: o.special });
  out.record({ ids });
  out.say(`${ids.length} tokens: ${ids.join(' ')}`);
  out.say(ids.map((id) => JSON.stringify(tok.idToToken(id) ?? '?')).join(' '));
}
