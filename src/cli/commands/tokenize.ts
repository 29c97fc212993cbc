import { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { need, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir } from '../common.ts';
import type { Output } from '../output.ts';

export const spec: CommandSpec = {
  name: 'tokenize',
  summary: 'encode text with a model\'s tokenizer (tokenizer.json)',
  usage: 'tabtune tokenize --model DIR --text TEXT [--special] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'model or tokenizer-only folder (default: the demo model)' },
    { name: 'text', kind: 'string', value: 'TEXT', help: 'text to encode' },
    { name: 'special', kind: 'boolean', help: 'add the special tokens the tokenizer\'s post-processor adds' },
  ],
  examples: ['tabtune tokenize --model ./SmolLM2-135M --text "Hello world" --json'],
};

export async function run(p: Parsed, out: Output): Promise<void> {
  const tok = await Tokenizer.fromTree(nodeFileTree(modelDir(p.model as string | undefined)));
  const text = need<string>(p, 'text');
  const ids = tok.encode(text, { addSpecialTokens: p.special === true });
  out.record({ ids });
  out.say(`${ids.length} tokens: ${ids.join(' ')}`);
  out.say(ids.map((id) => JSON.stringify(tok.idToToken(id) ?? '?')).join(' '));
}
