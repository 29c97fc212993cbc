import { join, resolve } from 'node:path';
import { evaluate, type EvalReport } from '../../core/eval/report.ts';
import { TrainJob } from '../../core/pipeline/train-job.ts';
import { trainConfig } from '../../core/train/config.ts';
import type { Session } from '../../core/session.ts';
import { options, type CommandSpec, type Parsed } from '../args.ts';
import { demoDataDir, demoModelDir, openModel } from '../common.ts';
import { loadData } from '../dataset.ts';
import { bar, type Output } from '../output.ts';
import { writeFiles } from './merge.ts';
import { checkOutputs } from '../output-checks.ts';

export const spec = {
  name: 'demo',
  summary: 'the whole job offline: evaluate the demo model, fine-tune it with LoRA, evaluate again, compare answers',
  usage: 'tabtune demo [--steps N] [--out DIR] [--json]',
  flags: [
    { name: 'steps', kind: 'int', help: 'optimizer steps', default: 30, min: 1 },
    { name: 'out', kind: 'string', value: 'DIR', help: 'where the adapter and run files go', default: 'tabtune-demo' },
    { name: 'questions', kind: 'int', value: 'N', help: 'held-out questions answered before and after', default: 5, min: 0 },
  ],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  checkOutputs({ inputs: { 'the demo model': demoModelDir() }, folder: { flag: '--out', path: resolve(o.out), kind: 'run' } });
  const session = await openModel(out, demoModelDir());
  try {
    const model = session.requireModel();
    const opts = { maxLength: 128, maskPrompt: true };
    const train = await loadData(join(demoDataDir(), 'factbook-qa.jsonl'), session.tokenizer, model.cfg, opts, out);
    const held = await loadData(join(demoDataDir(), 'factbook-qa-eval.jsonl'), session.tokenizer, model.cfg, opts, out);
    const questions = o.questions;
    out.say(`demo: ${model.cfg.arch} ${session.info().parameters.toLocaleString()} parameters; ${train.examples.length} training and ${held.examples.length} held-out Factbook questions`);

    const before = await evaluateHeld(session, held.examples, questions, out, 'base model');
    const config = trainConfig({
      method: 'lora', lr: 3e-3, schedule: 'cosine', warmup: 3, batch: 4, steps: o.steps, weightDecay: 0, seed: 42,
      lora: { r: 16, alpha: 32, dropout: 0.05, targets: 'all-linear', rslora: false },
    });
    const seq = 128;
    const job = await TrainJob.create({
      session, config, examples: { train: train.examples, validation: [] }, rows: { maxLength: seq, packing: true },
      describe: {
        model: { name: 'demo-base', source: { kind: 'demo' } },
        dataset: { name: 'factbook-qa', version: 1, records: train.records, maskPrompt: true, validationFraction: 0, splitSeed: 42 },
      },
      onEvent: (e) => {
        if (e.type === 'step') {
          out.record({ step: e.step, loss: e.loss, lr: e.lr, tokens_per_sec: Math.round(e.tokensPerSecond) });
          out.progress(`fine-tuning ${bar(e.step, e.totalSteps)} step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(3)}  ${Math.round(e.tokensPerSecond)} tok/s`, e.step === e.totalSteps);
        }
        if (e.type === 'alert') out.warn(e.message);
      },
    });
    const { summary, files } = await job.run();
    job.destroy();
    out.clearProgress();
    out.say(`fine-tuned ${summary.steps} steps (LoRA r=16 on all linear layers, ${session.adapterInfo()!.parameters.toLocaleString()} trainable parameters); final training loss ${summary.finalLoss?.toFixed(3)}`);
    const after = await evaluateHeld(session, held.examples, questions, out, 'fine-tuned');

    out.say('');
    out.say(`held-out perplexity: ${before.perplexity.toFixed(2)} → ${after.perplexity.toFixed(2)}  (loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)})`);
    out.say(`held-out answers: exact match ${pct(before.exactMatch)} → ${pct(after.exactMatch)}, contains ${pct(before.contains)} → ${pct(after.contains)}`);
    out.say('');
    for (let i = 0; i < Math.min(questions, held.examples.length); i++) {
      const b = before.examples[i]!;
      const a = after.examples[i]!;
      out.say(`Q: ${question(b.prompt)}\n   expected:   ${b.reference}\n   base:       ${oneLine(b.generated)}\n   fine-tuned: ${oneLine(a.generated)}`);
    }
    const dir = resolve(o.out);
    if (!files) throw new Error(summary.message ?? 'the demo run failed');
    writeFiles(dir, files);
    out.say(`\nadapter and run files written to ${dir}`);
    out.record({ before: { loss: before.loss, perplexity: before.perplexity, exact_match: before.exactMatch }, after: { loss: after.loss, perplexity: after.perplexity, exact_match: after.exactMatch }, out: dir });
    if (!(after.perplexity < before.perplexity)) throw new Error(`validation perplexity did not improve (${before.perplexity} → ${after.perplexity})`);
  } finally {
    session.dispose();
  }
}

async function evaluateHeld(session: Session, examples: Parameters<typeof evaluate>[1], questions: number, out: Output, what: string): Promise<EvalReport> {
  const r = await evaluate(session, examples, { generate: questions, onProgress: (d, t) => out.progress(`evaluating the ${what} ${bar(d, t)} ${d}/${t}`) });
  out.clearProgress();
  out.say(`${what}: held-out loss ${r.loss.toFixed(3)}, perplexity ${r.perplexity.toFixed(2)}`);
  return r;
}

const oneLine = (s: string | undefined) => {
  const t = (s ?? '').replace(/\s+/g, ' ').trim();
  return t.length > 90 ? `${t.slice(0, 89)}…` : t;
};

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(0)}%`);

/** The user's question from a rendered chat prompt. */
function question(prompt: string | undefined): string {
  const m = /<\|im_start\|>user\n([\s\S]*?)<\|im_end\|>/.exec(prompt ?? '');
  return (m?.[1] ?? prompt ?? '').trim();
}
