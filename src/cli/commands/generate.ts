import { options, required, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel, parseIds } from '../common.ts';
import type { Output } from '../output.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { generateText, type Prompt } from '../../core/pipeline/generate.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { parseAdapterList, pickAdapter } from '../adapter-list.ts';
import { MOA_FLAGS, moaPlan, runMoaCommand } from '../moa-run.ts';
import { baseQuant, QUANT_FLAG } from '../quant-flag.ts';
import { attachGate, GATE_FLAG } from '../gate-run.ts';

export const spec = {
  name: 'generate',
  summary: 'continue a prompt with the model (and LoRA adapters, or a mixture of agents over them), KV-cached',
  usage: 'tabtune generate --model DIR [--adapter [NAME=]DIR ... [--use NAME]] (--prompt TEXT | --prompt-ids 1,2,3) --max-new-tokens N '
    + '[--greedy | --temperature T --top-p P --top-k K --seed S] [--moa [--proposers NAME[@T],...] [--aggregator NAME] '
    + '[--moa-layers 1|2] [--aggregator-prompt TEXT]] [--gate DIR] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    {
      name: 'adapter', kind: 'list', value: '[NAME=]DIR',
      help: 'PEFT LoRA adapter folder; repeat for several over the one base (named NAME, or after the folder)',
    },
    { name: 'use', kind: 'string', value: 'NAME', help: 'the adapter that answers when several are loaded ("base": none; default: the first)' },
    ...MOA_FLAGS,
    GATE_FLAG,
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
    'tabtune generate --model ./m --adapter a=./run-a --adapter b=./run-b --use b --prompt "Hi" --greedy',
    'tabtune generate --model ./m --adapter a=./run-a --adapter b=./run-b --moa --proposers a,b,base@0.8 --aggregator a --prompt "Hi" --json',
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
  const adapters = parseAdapterList(o.adapter ?? []);
  const moa = moaPlan(o, adapters.map((a) => a.name));
  if (moa && text === undefined) throw new UsageError('--moa needs --prompt TEXT: the aggregator reads the proposals as text');
  if (o.use !== undefined && adapters.length === 0) throw new UsageError('--use picks among the --adapter folders; give them');
  if (o.gate !== undefined && (moa || o.use !== undefined)) throw new UsageError('--gate mixes its adapters itself; leave out --use and --moa');
  const session = await openModel(out, modelDir(o.model), undefined, { quant: baseQuant(o) });
  try {
    const cfg = session.requireModel().cfg;
    const files = [];
    for (const a of adapters) files.push({ name: a.name, from: await readPeftAdapter(cfg, nodeFileTree(a.dir)) });
    if (o.gate !== undefined) await attachGate(session, o.gate, adapters);
    else if (files.length) await session.loadAdapters(files);
    const decoding = {
      maxNewTokens: o.maxNewTokens, greedy: o.greedy, temperature: o.temperature, topP: o.topP, topK: o.topK,
      repetitionPenalty: o.repetitionPenalty, stopTokens, ignoreEos: o.ignoreEos, seed: o.seed,
    };
    if (moa) {
      if (!files.length) await session.loadAdapters([]);
      await runMoaCommand(session, out, required(text, 'prompt'), { ...moa, chat: o.chat }, decoding);
      return;
    }
    if (o.use !== undefined) session.useAdapter(pickAdapter('use', o.use, session.adapterNames));
    if (!out.json && text !== undefined) process.stdout.write(o.chat ? '' : text);
    const g = await generateText(session, prompt, {
      ...decoding,
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
