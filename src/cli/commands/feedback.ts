import { resolve } from 'node:path';
import { ktoExamples, preferencePairs } from '../../core/serve/feedback-dataset.ts';
import type { FeedbackRecord } from '../../core/serve/monitor.ts';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { writeFileAtomic } from '../../platform/node-atomic.ts';
import { checkOutputs } from '../output-checks.ts';
import { readServeLog } from '../log-file.ts';
import type { Output } from '../output.ts';

export const spec = {
  name: 'data feedback',
  summary: 'turn the feedback in a tabtune serve log into a preference dataset (TRL {prompt, chosen, rejected} or KTO {prompt, completion, label})',
  usage: 'tabtune data feedback --log FILE --out FILE.jsonl [--format preference|kto] [--json]',
  flags: [
    { name: 'log', kind: 'string', value: 'FILE', help: 'the JSONL log written by tabtune serve --log' },
    { name: 'out', kind: 'string', value: 'FILE', help: 'the JSONL dataset to write' },
    {
      name: 'format', kind: 'string', value: 'preference|kto', help: 'TRL preference pairs (DPO) or unpaired KTO examples', default: 'preference',
      choices: ['preference', 'kto'],
    },
  ],
  examples: ['tabtune data feedback --log serve.jsonl --out prefs.jsonl', 'tabtune data feedback --log serve.jsonl --out kto.jsonl --format kto'],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const format = o.format;
  const log = resolve(required(o.log, 'log'));
  const target = resolve(required(o.out, 'out'));
  checkOutputs({ inputs: { '--log': log }, files: { '--out': target } });
  const feedback = readServeLog(log).filter((r): r is FeedbackRecord => r.type === 'feedback');
  const rows: unknown[] = format === 'preference' ? preferencePairs(feedback) : ktoExamples(feedback);
  writeFileAtomic(target, new TextEncoder().encode(rows.map((r) => `${JSON.stringify(r)}\n`).join('')));
  out.record({ out: target, format, feedback: feedback.length, rows: rows.length });
  out.say(`${rows.length} ${format === 'preference' ? 'preference pairs' : 'KTO examples'} from ${feedback.length} feedback entries written to ${target}`);
}
