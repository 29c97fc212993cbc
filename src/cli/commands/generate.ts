import { options, required, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel, parseIds } from '../common.ts';
import type { Output } from '../output.ts';
import { generateText, type Prompt } from '../../core/pipeline/generate.ts';
import { baseQuant, QUANT_FLAG } from '../quant-flag.ts';

export const spec = {
  name: 'generate',
  summary: 'continue a prompt with the model (and an optional LoRA adapter), KV-cached',
  usage: 'tabtune generate --model DIR [--adapter DIR] (--prompt TEXT | --prompt-ids 1,2,3) --max-new-tokens N '
    + '[--greedy | --temperature T --top-p P --top-k K --seed S] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder' },
    { name: 'int8', kind: 'boolean', help: 'hold the base model\'s linear weights as int8 with per-channel scales (a quarter of the memory)' },
    QUANT_FLAG,
    { name: 'prompt', kind: 'string', value: 'TEXT', help: 'prompt text' },
    { name: 'prompt-ids', kind: 'string', value: '1,2,3', help: 'prompt as token ids' },
    { name: 'chat', kind: 'boolean', help: 'wrap --prompt as a user message with the model\'s chat template' },
    { name: 'max-new-tokens', kind: 'int', help: 'tokens to generate', default: 64, min: 1 },
    { name: 'greedy', kind: 'boolean', help: 'argmax decoding' },
    { name: 'temperature', kind: 'number', value: 'T', help: 'sampling temperature', default: 1, above: 0 },
    { name: 'top-p', kind: 'number', value: 'P', help: 'nucleus sampling mass', default: 1, above: 0, max: 1 },
    { name: 'top-k', kind: 'int', value: 'K', help: 'sample among the K most likely tokens (0: all)', default: 0, min: 0 },
    { name: 'repetition-penalty', kind: 'number', value: 'R', help: 'HF repetition penalty', default: 1, above: 0 },
    { name: 'stop', kind: 'string', value: '1,2', help: 'extra stop token ids' },
    { name: 'ignore-eos', kind: 'boolean', help: 'do not stop at the model\'s eos tokens' },
    { name: 'seed', kind: 'int', help: 'sampling seed', default: 0, min: 0 },
  ],
  examples: [
    'tabtune generate --prompt "Call me Ishmael." --max-new-tokens 40 --greedy',
    'tabtune generate --model ./m --adapter ./out --prompt-ids 1,2,3 --max-new-tokens 8 --greedy --json',
  ],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  if ((o.prompt === undefined) === (o.promptIds === undefined)) throw new UsageError('give exactly one of --prompt and --prompt-ids');
  const text = o.prompt;
  const prompt: Prompt = text === undefined
    ? { ids: parseIds(required(o.promptIds, 'prompt-ids'), 'prompt-ids') }
    : o.chat ? { messages: [{ role: 'user', content: text }] } : { text };
  const stopTokens = o.stop ? parseIds(o.stop, 'stop') : [];
  const session = await openModel(out, modelDir(o.model), o.adapter, { quant: baseQuant(o) });
  try {
    if (!out.json && text !== undefined) process.stdout.write(o.chat ? '' : text);
    const g = await generateText(session, prompt, {
      maxNewTokens: o.maxNewTokens, greedy: o.greedy, temperature: o.temperature, topP: o.topP, topK: o.topK,
      repetitionPenalty: o.repetitionPenalty, stopTokens, ignoreEos: o.ignoreEos, seed: o.seed,
      onToken: (t) => {
        if (!out.json) process.stdout.write(session.tokenizer ? t.text : `${t.id} `);
      },
    });
    if (!out.json) process.stdout.write('\n');
    out.record({ ids: g.ids, text: g.text, stop_reason: g.stopReason, mean_logprob: g.meanLogprob, mean_entropy: g.meanEntropy });
  } finally {
    session.dispose();
  }
}
