import { need, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel, parseIds } from '../common.ts';
import type { Output } from '../output.ts';
import { generateText, type Prompt } from '../../core/pipeline/generate.ts';

export const spec: CommandSpec = {
  name: 'generate',
  summary: 'continue a prompt with the model (and an optional LoRA adapter), KV-cached',
  usage: 'tabtune generate --model DIR [--adapter DIR] (--prompt TEXT | --prompt-ids 1,2,3) --max-new-tokens N [--greedy | --temperature T --top-p P --top-k K --seed S] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder' },
    { name: 'int8', kind: 'boolean', help: 'hold the base model\'s linear weights as int8 with per-channel scales (a quarter of the memory)' },
    { name: 'prompt', kind: 'string', value: 'TEXT', help: 'prompt text' },
    { name: 'prompt-ids', kind: 'string', value: '1,2,3', help: 'prompt as token ids' },
    { name: 'chat', kind: 'boolean', help: 'wrap --prompt as a user message with the model\'s chat template' },
    { name: 'max-new-tokens', kind: 'int', help: 'tokens to generate', default: 64 },
    { name: 'greedy', kind: 'boolean', help: 'argmax decoding' },
    { name: 'temperature', kind: 'number', value: 'T', help: 'sampling temperature', default: 1 },
    { name: 'top-p', kind: 'number', value: 'P', help: 'nucleus sampling mass', default: 1 },
    { name: 'top-k', kind: 'int', value: 'K', help: 'sample among the K most likely tokens (0: all)', default: 0 },
    { name: 'repetition-penalty', kind: 'number', value: 'R', help: 'HF repetition penalty', default: 1 },
    { name: 'stop', kind: 'string', value: '1,2', help: 'extra stop token ids' },
    { name: 'ignore-eos', kind: 'boolean', help: 'do not stop at the model\'s eos tokens' },
    { name: 'seed', kind: 'int', help: 'sampling seed', default: 0 },
  ],
  examples: [
    'tabtune generate --prompt "Call me Ishmael." --max-new-tokens 40 --greedy',
    'tabtune generate --model ./m --adapter ./out --prompt-ids 1,2,3 --max-new-tokens 8 --greedy --json',
  ],
};

export async function run(p: Parsed, out: Output): Promise<void> {
  if ((p.prompt === undefined) === (p['prompt-ids'] === undefined)) throw new UsageError('give exactly one of --prompt and --prompt-ids');
  const session = await openModel(out, modelDir(p.model as string | undefined), p.adapter as string | undefined, { int8: p.int8 === true });
  try {
    const text = p.prompt as string | undefined;
    const prompt: Prompt = text === undefined ? { ids: parseIds(p['prompt-ids'] as string, 'prompt-ids') } : p.chat ? { messages: [{ role: 'user', content: text }] } : { text };
    if (!out.json && text !== undefined) process.stdout.write(p.chat ? '' : text);
    const g = await generateText(session, prompt, {
      maxNewTokens: need<number>(p, 'max-new-tokens'),
      greedy: p.greedy === true,
      temperature: p.temperature as number,
      topP: p['top-p'] as number,
      topK: p['top-k'] as number,
      repetitionPenalty: p['repetition-penalty'] as number,
      stopTokens: p.stop ? parseIds(p.stop as string, 'stop') : [],
      ignoreEos: p['ignore-eos'] === true,
      seed: p.seed as number,
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
