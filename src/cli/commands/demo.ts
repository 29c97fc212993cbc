import { join, resolve } from 'node:path';
import { runDemo } from '../../core/pipeline/demo-job.ts';
import { demoTrainConfig, DEMO_TASK, showcase, type DemoAnswer, type DemoScores } from '../../core/train/demo-run.ts';
import { options, type CommandSpec, type Parsed } from '../args.ts';
import { demoDataDir, demoModelDir, openModel } from '../common.ts';
import { loadData } from '../dataset.ts';
import { bar, duration, type Output } from '../output.ts';
import { checkOutputs } from '../output-checks.ts';
import { writeFiles } from './merge.ts';
import { quantExportNote } from '../../core/model/base-quant.ts';
import { baseQuant, QUANT_FLAG } from '../quant-flag.ts';

export const spec = {
  name: 'demo',
  summary: 'the whole job offline: the demo model learns grounded question answering (answer from a passage); before/after scores and answers',
  usage: 'tabtune demo [--steps N] [--quant int8|int4] [--out DIR] [--json]',
  flags: [
    { name: 'steps', kind: 'int', help: 'optimizer steps', default: DEMO_TASK.steps, min: 1 },
    { name: 'lr', kind: 'number', value: 'LR', help: 'peak learning rate', default: DEMO_TASK.lr, above: 0 },
    { name: 'lora-r', kind: 'int', value: 'R', help: 'LoRA rank (alpha = 2r)', default: DEMO_TASK.r, min: 1 },
    QUANT_FLAG,
    {
      name: 'out', kind: 'string', value: 'DIR', help: 'where the adapter and run files go (by default a folder git ignores)',
      default: join('.tabtune', 'demo'),
    },
    { name: 'examples', kind: 'int', value: 'N', help: 'held-out answers shown that the fine-tuning fixed', default: 4, min: 0 },
  ],
  examples: ['npm run demo', 'tabtune demo --json | tail -1', 'tabtune demo --quant int4   # QLoRA: an NF4 base'],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const dir = resolve(o.out);
  const quant = baseQuant(o);
  checkOutputs({ inputs: { 'the demo model': demoModelDir() }, folder: { flag: '--out', path: dir, kind: 'run' } });
  const session = await openModel(out, demoModelDir(), undefined, { quant });
  try {
    const model = session.requireModel();
    const opts = { maxLength: DEMO_TASK.maxLength, maskPrompt: true };
    const train = await loadData(join(demoDataDir(), `${DEMO_TASK.dataset}.jsonl`), session.tokenizer, model.cfg, opts, out);
    const held = await loadData(join(demoDataDir(), `${DEMO_TASK.dataset}-eval.jsonl`), session.tokenizer, model.cfg, opts, out);
    out.say(`demo: ${model.cfg.arch}, ${session.info().parameters.toLocaleString()} parameters, pretrained on State of the Union addresses and Moby Dick`);
    const sizes = `${train.examples.length} training questions; ${held.examples.length} held-out questions about other countries`;
    out.say(`task: answer a question from a short passage about a country (${sizes})`);
    const config = { ...demoTrainConfig({ steps: o.steps, lr: o.lr, r: o.loraR }), ...(quant !== 'none' && { quant }) };
    const describe = {
      model: { name: 'demo-base', source: { kind: 'demo' } },
      dataset: { name: DEMO_TASK.dataset, version: 1, records: train.records, maskPrompt: true, validationFraction: 0, splitSeed: config.seed },
    };
    const r = await runDemo(session, train.examples, held.examples, {
      config, maxLength: DEMO_TASK.maxLength, seq: DEMO_TASK.seq, maxNewTokens: DEMO_TASK.maxNewTokens, describe, now: () => performance.now(),
      onProgress: (phase, d, t) => out.progress(`answering with the ${phase === 'before' ? 'base' : 'fine-tuned'} model ${bar(d, t)} ${d}/${t}`),
      onEvent: (e) => {
        if (e.type === 'step') {
          out.record({ step: e.step, loss: e.loss, lr: e.lr, grad_norm: e.gradNorm, tokens_per_sec: Math.round(e.tokensPerSecond) });
          const line = `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(3)}  ${Math.round(e.tokensPerSecond)} tok/s`;
          out.progress(`fine-tuning ${bar(e.step, e.totalSteps)} ${line}`, e.step === e.totalSteps);
        }
        if (e.type === 'alert') out.warn(e.message);
      },
    });
    out.clearProgress();
    const adapter = session.adapterInfo()!;
    const lora = `LoRA r=${adapter.r} on all linear layers (${adapter.parameters.toLocaleString()} trainable parameters)`;
    const base = quant === 'int4' ? ', NF4 base' : quant === 'int8' ? ', int8 base' : '';
    out.say(`fine-tuned ${r.summary.steps} steps: ${lora}, lr ${config.lr}${base}`);
    out.say('');
    out.say('held-out questions           base model   fine-tuned');
    out.say(`  loss (lower is better)     ${fixed(r.before.loss)}   ${fixed(r.after.loss)}`);
    out.say(`  perplexity                 ${fixed(r.before.perplexity)}   ${fixed(r.after.perplexity)}`);
    out.say(`  exact answer               ${pct(r.before.exact)}   ${pct(r.after.exact)}`);
    out.say(`  answer contained           ${pct(r.before.contains)}   ${pct(r.after.contains)}`);
    const { fixed: wins, missed } = showcase(r.answers, o.examples);
    if (wins.length) out.say(`\nheld-out questions the fine-tuning fixed:`);
    for (const a of wins) say(out, a);
    if (missed) {
      out.say('\none it still gets wrong:');
      say(out, missed);
    }
    writeFiles(dir, r.files);
    const note = quantExportNote(quant);
    if (note) out.say(`\nnote: ${note}`);
    out.say(`\n${duration(r.seconds)} in all; adapter and run files written to ${dir}`);
    out.record({ before: scoresJson(r.before), after: scoresJson(r.after), seconds: Math.round(r.seconds * 10) / 10, steps: r.summary.steps });
  } finally {
    session.dispose();
  }
}

function say(out: Output, a: DemoAnswer): void {
  out.say(`  ${question(a.prompt)}\n    expected:   ${a.reference}\n    base:       ${oneLine(a.base)}\n    fine-tuned: ${oneLine(a.tuned)}`);
}

const scoresJson = (s: DemoScores) => ({ loss: s.loss, perplexity: s.perplexity, exact: s.exact, contains: s.contains });
const fixed = (x: number) => (x >= 1000 ? x.toFixed(0) : x.toFixed(2)).padStart(10);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`.padStart(10);

const oneLine = (s: string) => {
  const t = s.replace(/\s+/g, ' ').trim();
  if (!t) return '(nothing)';
  return t.length > 90 ? `${t.slice(0, 89)}…` : t;
};

/** The question line of a rendered chat prompt (the passage is left out for brevity). */
function question(prompt: string): string {
  const user = /<\|im_start\|>user\n([\s\S]*?)<\|im_end\|>/.exec(prompt)?.[1] ?? prompt;
  const passage = user.split('\nQuestion: ');
  return passage.length === 2 ? `${passage[1]!.trim()}  [passage: ${oneLine(passage[0]!)}]` : oneLine(user);
}
