import { evaluate } from '../../core/eval/report.ts';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import { loadData } from '../dataset.ts';
import { columnsFlag } from '../import-file.ts';
import { bar, type Output } from '../output.ts';
import { runTask, TASK_FLAGS } from './eval-tasks.ts';
import { baseQuant, QUANT_FLAG } from '../quant-flag.ts';

export const spec = {
  name: 'eval',
  summary: 'perplexity and per-example loss of a dataset (optionally generated answers vs references)',
  usage: 'tabtune eval --model DIR [--adapter DIR] --data FILE [--generate N] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder' },
    {
      name: 'data', kind: 'string', value: 'FILE',
      help: 'JSONL, JSON, CSV/TSV or text; input_ids/labels, text, prompt/completion, Alpaca, messages or ShareGPT',
    },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'int8', kind: 'boolean', help: 'hold the base model\'s linear weights as int8 with per-channel scales (a quarter of the memory)' },
    QUANT_FLAG,
    { name: 'max-seq-len', kind: 'int', help: 'truncate longer examples (and to the model\'s positions)', default: 1024, min: 2 },
    { name: 'mask-prompt', kind: 'boolean', help: 'score only completions / assistant turns (--no-mask-prompt: every token)', default: true },
    { name: 'batch', kind: 'int', help: 'sequences per forward pass', default: 8, min: 1 },
    {
      name: 'generate', kind: 'int', value: 'N',
      help: 'also generate answers for the first N prompt/chat examples and score exact match / contains', default: 0, min: 0,
    },
    { name: 'hardest', kind: 'int', value: 'K', help: 'list the K highest-loss examples', default: 5, min: 0 },
    ...TASK_FLAGS,
  ],
  examples: ['tabtune eval --model ./m --data val.jsonl --json', 'tabtune eval --adapter ./out --data public/datasets/factbook-qa-eval.jsonl --generate 20'],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  if (o.task !== undefined || o.suite !== undefined) return runTask(o, out);
  const columns = columnsFlag(p);
  const data = required(o.data, 'data');
  const session = await openModel(out, modelDir(o.model), o.adapter, { quant: baseQuant(o) });
  try {
    const m = session.requireModel();
    const loaded = await loadData(data, session.tokenizer, m.cfg, { maxLength: o.maxSeqLen, maskPrompt: o.maskPrompt, ...(columns && { columns }) }, out);
    const r = await evaluate(session, loaded.examples, {
      batch: o.batch, generate: o.generate,
      onProgress: (done, total) => out.progress(`eval ${bar(done, total)} ${done}/${total}`),
    });
    out.clearProgress();
    const hardest = r.hardest.slice(0, o.hardest).map((e) => ({ line: e.source.line, loss: e.loss, tokens: e.tokens }));
    out.record({
      loss: r.loss, perplexity: r.perplexity, tokens: r.tokens, examples: r.examples.length, left_out: loaded.problems.length,
      prompt_perplexity: r.promptPerplexity, exact_match: r.exactMatch, contains: r.contains, mean_logprob: r.meanLogprob, mean_entropy: r.meanEntropy,
      hardest,
    });
    const leftOut = loaded.problems.length ? ` (${loaded.problems.length} left out)` : '';
    out.say(`loss ${r.loss.toFixed(4)}  perplexity ${r.perplexity.toFixed(3)}  over ${r.tokens} target tokens in ${r.examples.length} examples${leftOut}`);
    if (r.promptPerplexity !== null) out.say(`prompt perplexity ${r.promptPerplexity.toFixed(3)}`);
    if (r.exactMatch !== null) {
      const rates = `exact match ${(100 * r.exactMatch).toFixed(1)}%, contains ${(100 * r.contains!).toFixed(1)}%`;
      out.say(`generated answers: ${rates}, mean log-prob ${r.meanLogprob?.toFixed(3)}, entropy ${r.meanEntropy?.toFixed(3)} nats`);
    }
    if (hardest.length) out.say(`hardest: ${hardest.map((h) => `line ${h.line} (${h.loss.toFixed(2)})`).join(', ')}`);
  } finally {
    session.dispose();
  }
}
