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
import { parseGrpoPrompts, promptText } from '../../core/data/grpo-prompts.ts';
import { InputError } from '../../core/errors.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { prepareModel } from '../../core/session.ts';
import type { TrainConfig } from '../../core/train/config.ts';
import { grpoObjective, type GrpoPrompt } from '../../core/train/preference/grpo.ts';
import { Trainer } from '../../core/train/trainer.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { loadRewardFile } from '../../platform/node-reward-sandbox.ts';
import { UsageError, type Parsed } from '../args.ts';
import { modelDir, openSession } from '../common.ts';
import { bar, type Output } from '../output.ts';
import { grpoOptionsFrom } from '../train-method.ts';
import { writeFiles } from './merge.ts';

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
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(dataFile));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(dataFile, code ? `cannot read (${code})` : 'is not UTF-8 text');
  }
  const data = parseGrpoPrompts(dataFile, text);
  for (const pr of data.problems.slice(0, 20)) out.warn(`${pr.source.file}:${pr.source.line}: ${pr.reason} (left out)`);
  if (data.records.length === 0) throw new InputError(dataFile, 'no usable GRPO prompts');
  const config = configFor(data.records.length);
  if (config.method === 'full' && options.beta > 0) throw new UsageError('--method grpo with --tune full has no reference model here; add --beta 0');
  const dir = modelDir(p.model as string | undefined);
  const outDir = resolve(p.out as string);
  const prepared = await prepareModel(nodeFileTree(dir));
  const tok = prepared.tokenizer;
  if (!tok) throw new InputError(dir, 'GRPO needs the model\'s tokenizer.json');
  const prompts: GrpoPrompt[] = data.records.map((r) => {
    const chat = typeof r.prompt !== 'string';
    if (chat && tok.chatTemplate === undefined) {
      throw new InputError(dataFile, `line ${r.source.line}: chat prompts need a chat template; ${tok.name} has none`);
    }
    const ids = typeof r.prompt === 'string'
      ? tok.encode(r.prompt, { addSpecialTokens: true })
      : tok.encode(tok.applyChatTemplate([...r.prompt], { addGenerationPrompt: true }));
    return { ids, text: promptText(r.prompt), fields: r.fields };
  });

  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`));
    out.clearProgress();
    if (config.method === 'lora') {
      const init = p['init-adapter'] as string | undefined;
      if (init) await session.loadAdapter(await readPeftAdapter(prepared.inspected.cfg, nodeFileTree(resolve(init))));
      else session.newAdapter(config.lora, config.seed);
    } else if (p['init-adapter']) {
      throw new UsageError('--init-adapter is for LoRA runs (--tune lora)');
    }
    const model = session.requireModel();
    const grpo = await grpoObjective({
      model, options, prompts, rewards, batch: config.batch, padId: session.padTokenId(), stopTokens: session.stopTokens,
      decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    });
    const what = `${prompts.length} prompts, ${options.generations} completions each, rewards: ${rewards.names.join(', ')}`;
    out.say(`GRPO (${config.method === 'lora' ? 'LoRA' : 'full'}) on ${what}`);
    const trainer = await Trainer.create({
      model, config, seq: grpo.seq, train: grpo.rows, objective: grpo.objective,
      onEvent: (e) => {
        if (e.type === 'step') {
          out.record({ step: e.step, loss: e.loss, lr: e.lr, grad_norm: e.gradNorm, ...e.metrics });
          const m = e.metrics ?? {};
          out.progress(`${bar(e.step, e.totalSteps)} step ${e.step}/${e.totalSteps}  reward ${fmt(m['reward'])}  kl ${fmt(m['kl'])}`, e.step === e.totalSteps);
        } else if (e.type === 'alert') {
          out.record({ alert: { level: e.level, step: e.step, message: e.message } });
        }
      },
    });
    let summary;
    try {
      summary = await trainer.run();
    } finally {
      trainer.destroy();
      grpo.destroy();
    }
    out.clearProgress();
    if (summary.state === 'failed') throw new InputError(rewards.source, summary.message ?? 'the run failed');
    const files = config.method === 'full' ? await session.saveMerged() : await session.saveAdapter();
    writeFiles(outDir, files);
    out.record({ done: { state: summary.state, steps: summary.steps, final_loss: summary.finalLoss, out: outDir } });
    out.say(`${summary.state} after ${summary.steps} steps; wrote ${Object.keys(files).join(', ')} to ${outDir}`);
  } finally {
    session.dispose();
  }
}

const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(3));
