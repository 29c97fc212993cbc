import { resolve } from 'node:path';
import { summarise, type GroupSummary } from '../../core/serve/monitor.ts';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { readServeLog } from '../log-file.ts';
import type { Output } from '../output.ts';

export const spec = {
  name: 'monitor',
  summary: 'summarise a tabtune serve log: requests, errors, latency percentiles, flagged outputs, alerts, feedback, per adapter',
  usage: 'tabtune monitor --log FILE [--json]',
  flags: [{ name: 'log', kind: 'string', value: 'FILE', help: 'the JSONL log written by tabtune serve --log' }],
  examples: ['tabtune monitor --log serve.jsonl'],
} as const satisfies CommandSpec;

const ms = (x: number | null): string => (x === null ? '-' : `${Math.round(x)} ms`);

function line(name: string, g: GroupSummary): string {
  return `${name.padEnd(12)} ${String(g.requests).padStart(6)} requests, ${g.errors} errors, ${g.rejected} rejected (429); `
    + `latency p50 ${ms(g.latency_ms.p50)}, p95 ${ms(g.latency_ms.p95)}, p99 ${ms(g.latency_ms.p99)}; first token p50 ${ms(g.ttft_ms_p50)}; `
    + `${g.tokens_in} tokens in, ${g.tokens_out} out${g.tokens_per_s_mean === null ? '' : ` (${g.tokens_per_s_mean.toFixed(1)} tokens/s)`}; `
    + `flagged: ${g.flagged_prompts} prompts, ${g.flagged_outputs} outputs`;
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const path = resolve(required(options(spec, p).log, 'log'));
  const s = summarise(readServeLog(path));
  out.record(s);
  out.say(line('all', s));
  for (const [name, g] of Object.entries(s.adapters)) out.say(line(name, g));
  const alerts = Object.entries(s.alerts).map(([k, v]) => `${k} ×${v}`).join(', ');
  out.say(`alerts: ${alerts || 'none'}`);
  out.say(`feedback: ${s.feedback.entries} entries (${s.feedback.positive} positive, ${s.feedback.negative} negative,
    ${s.feedback.preferred} with a preferred answer)`);
}
