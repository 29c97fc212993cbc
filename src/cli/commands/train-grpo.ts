/**
 * `tabtune train --method grpo --reward FILE`: prompts from --data (TRL's "prompt" records, or
 * chat records whose last assistant turn becomes an "answer" column), G completions per prompt
 * sampled each step, scored by the user's reward functions in a node:vm sandbox with a time
 * limit. `--json` prints one line per step with TRL's GRPO metric names (reward, reward_std,
 * rewards/NAME/mean, kl, clip_ratio, completions/mean_length, frac_reward_zero_std).
 * A reward function that throws, loops, or returns a non-number stops the run with one line
 * naming the file, the function and the completion; nothing is written.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { grpoPrompts, grpoStrategy } from '../../core/pipeline/grpo-strategy.ts';
import { TrainJob } from '../../core/pipeline/train-job.ts';
import { prepareModel } from '../../core/session.ts';
import { sha256Hex } from '../../core/data/sha256.ts';
import type { TrainConfig } from '../../core/train/config.ts';
import type { TrainEvent } from '../../core/train/events.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { loadRewardFile } from '../../platform/node-reward-sandbox.ts';
import { UsageError, type Parsed } from '../args.ts';
import { modelDir, openSession } from '../common.ts';
import { bar, type Output } from '../output.ts';
import { grpoOptionsFrom } from '../train-method.ts';
import { writeFiles } from './merge.ts';
import { reportWritten, trainToEnd } from '../train-job-end.ts';

const UNSUPPORTED = ['resume', 'save-every', 'packing', 'manifest', 'eval-every', 'early-stopping', 'val-data', 'find-lr', 'zip', 'int8'];

export async function trainGrpo(p: Parsed, out: Output, configFor: (examples: number) => TrainConfig): Promise<void> {
  const unsupported = UNSUPPORTED.find((f) => p[f] !== undefined && p[f] !== false && p[f] !== 0);
  if (unsupported) throw new UsageError(`--${unsupported} is not supported with --method grpo yet`);
  if (p.reward === undefined) throw new UsageError('--method grpo needs --reward FILE (JavaScript: module.exports = (prompt, completion, fields) => number)');
  if (p.data === undefined) throw new UsageError('--method grpo needs --data FILE with {"prompt": ...} records');
  if ((p['grad-accum'] as number) > 1) throw new UsageError('--method grpo runs one micro-batch per step; leave --grad-accum at 1');
  const options = grpoOptionsFrom(p);
  const rewards = loadRewardFile(resolve(p.reward as string), { timeoutMs: (p['reward-timeout'] as number | undefined) ?? 5000 });
  const dataFile = resolve(p.data as string);
  let bytes: Uint8Array;
  let text: string;
  try {
    bytes = await readFile(dataFile);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(dataFile, code ? `cannot read (${code})` : 'is not UTF-8 text');
  }
  const dir = modelDir(p.model as string | undefined);
  const outDir = resolve(p.out as string);
  const prepared = await prepareModel(nodeFileTree(dir));
  const tok = prepared.tokenizer;
  if (!tok) throw new InputError(dir, 'GRPO needs the model\'s tokenizer.json');
  const { prompts, problems } = grpoPrompts(dataFile, text, tok);
  for (const pr of problems.slice(0, 20)) out.warn(`${pr.source.file}:${pr.source.line}: ${pr.reason} (left out)`);
  if (prompts.length === 0) throw new InputError(dataFile, 'no usable GRPO prompts');
  const config = configFor(prompts.length);
  if (config.method === 'full' && options.beta > 0) throw new UsageError('--method grpo with --tune full has no reference model here; add --beta 0');
  if (p['init-adapter'] && config.method !== 'lora') throw new UsageError('--init-adapter is for LoRA runs (--tune lora)');
  const initAdapter = p['init-adapter'] ? await readPeftAdapter(prepared.inspected.cfg, nodeFileTree(resolve(p['init-adapter'] as string))) : undefined;

  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`));
    out.clearProgress();
    const strategy = grpoStrategy({
      options, prompts, rewards, tokenizer: tok, batch: config.batch, padId: session.padTokenId(), stopTokens: session.stopTokens,
      hash: await sha256Hex(bytes),
    });
    const job = await TrainJob.create({
      session, config, strategy, rows: { maxLength: strategy.rows.seq, packing: false }, initAdapter,
      describe: {
        model: { name: dir, source: { kind: 'local', path: dir } },
        dataset: { name: dataFile, version: 1, records: [], maskPrompt: true, validationFraction: 0, splitSeed: config.seed },
      },
      onEvent: (e) => renderEvent(e, out),
    });
    const what = `${prompts.length} prompts, ${options.generations} completions each, rewards: ${rewards.names.join(', ')}`;
    out.say(`GRPO (${config.method === 'lora' ? 'LoRA' : 'full'}) on ${what}`);
    // A reward function that failed stops the run: nothing is written.
    const { summary, files } = await trainToEnd(job, out, rewards.source);
    writeFiles(outDir, files);
    reportWritten(out, summary, files, outDir);
  } finally {
    session.dispose();
  }
}

/** One step or alert, with TRL's GRPO metric names. */
function renderEvent(e: TrainEvent, out: Output): void {
  if (e.type === 'step') {
    out.record({ step: e.step, loss: e.loss, lr: e.lr, grad_norm: e.gradNorm, ...e.metrics });
    const m = e.metrics ?? {};
    out.progress(`${bar(e.step, e.totalSteps)} step ${e.step}/${e.totalSteps}  reward ${fmt(m['reward'])}  kl ${fmt(m['kl'])}`, e.step === e.totalSteps);
  } else if (e.type === 'alert') {
    out.record({ alert: { level: e.level, step: e.step, message: e.message } });
  }
}

const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(3));
