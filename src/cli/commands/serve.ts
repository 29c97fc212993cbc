import { appendFileSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Blocklist } from '../../core/data/prepare/blocklist.ts';
import { ContentCheck } from '../../core/serve/content-check.ts';
import { AlertMonitor, DEFAULT_ALERT_RULES, type LogRecord } from '../../core/serve/monitor.ts';
import { readPeftAdapter, type PeftAdapterFiles } from '../../core/model/lora.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import type { Output } from '../output.ts';
import { Engine } from '../serve/engine.ts';
import { ModelServer } from '../serve/server.ts';

export const spec = {
  name: 'serve',
  summary: 'serve the model and adapters over an OpenAI-compatible HTTP API, with a request log, checks, alerts and /metrics',
  usage: 'tabtune serve --model DIR [--adapter NAME=DIR,...] [--port N] [--host H] [--api-key KEY] [--log FILE] [options]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'adapter', kind: 'list', value: 'NAME=DIR,...', help: 'PEFT adapters, chosen by the request\'s "model" field' },
    { name: 'name', kind: 'string', value: 'NAME', help: 'the base model\'s id in "model" (default: the folder name)' },
    { name: 'host', kind: 'string', value: 'HOST', help: 'address to bind', default: '127.0.0.1' },
    { name: 'port', kind: 'int', value: 'N', help: 'port (0: any free port, printed)', default: 8080, min: 0, max: 65535 },
    { name: 'api-key', kind: 'string', value: 'KEY', help: 'require "Authorization: Bearer KEY" (default: env TABTUNE_API_KEY, else none)' },
    { name: 'max-body', kind: 'int', value: 'BYTES', help: 'largest request body', default: 1_048_576, min: 1 },
    { name: 'max-tokens', kind: 'int', value: 'N', help: 'largest max_tokens a request may ask for', default: 512, min: 1 },
    { name: 'default-max-tokens', kind: 'int', value: 'N', help: 'max_tokens when a request gives none', default: 128, min: 1 },
    { name: 'queue', kind: 'int', value: 'N', help: 'requests that may wait for the model; more are answered 429', default: 16, min: 0 },
    { name: 'log', kind: 'string', value: 'FILE', help: 'JSONL log: one line per request, alert and feedback entry' },
    {
      name: 'check', kind: 'string', value: 'flag|redact|off', help: 'personal-data and blocklist checks of prompts and outputs', default: 'flag',
      choices: ['flag', 'redact', 'off'],
    },
    { name: 'blocklist', kind: 'string', value: 'FILE', help: 'terms to flag or redact, one per line' },
    { name: 'alert-window', kind: 'int', value: 'SECONDS', help: 'window of the alert rules', default: DEFAULT_ALERT_RULES.windowSeconds, min: 1 },
    {
      name: 'alert-min-requests', kind: 'int', value: 'N',
      help: 'rules fire once the window holds this many requests', default: DEFAULT_ALERT_RULES.minRequests, min: 1,
    },
    {
      name: 'alert-error-rate', kind: 'number', value: 'R',
      help: 'alert when the share of failed requests exceeds R', default: DEFAULT_ALERT_RULES.errorRate, min: 0, max: 1,
    },
    {
      name: 'alert-p95-ms', kind: 'number', value: 'MS', help: 'alert when the p95 latency exceeds MS', default: DEFAULT_ALERT_RULES.p95LatencyMs,
      min: 0,
    },
    {
      name: 'alert-flagged-rate', kind: 'number', value: 'R',
      help: 'alert when the share of flagged outputs exceeds R', default: DEFAULT_ALERT_RULES.flaggedRate, min: 0, max: 1,
    },
  ],
  examples: [
    'tabtune serve --model ./base --adapter support=./run-a,legal=./run-b --log serve.jsonl',
    'curl -s localhost:8080/v1/chat/completions -d \'{"model":"support","messages":[{"role":"user","content":"Hi"}]}\'',
  ],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const { maxTokens } = o;
  // An untyped default follows a smaller --max-tokens; a typed one must fit under it.
  const limits = { maxTokens, defaultMaxTokens: o.given.has('default-max-tokens') ? o.defaultMaxTokens : Math.min(maxTokens, o.defaultMaxTokens) };
  if (limits.defaultMaxTokens > limits.maxTokens) throw new UsageError('--default-max-tokens is larger than --max-tokens');
  const rules = {
    windowSeconds: o.alertWindow, minRequests: o.alertMinRequests,
    errorRate: o.alertErrorRate, p95LatencyMs: o.alertP95Ms, flaggedRate: o.alertFlaggedRate,
  };
  const specs = (o.adapter ?? []).map((s) => {
    const m = /^([^=]+)=(.+)$/.exec(s);
    if (!m) throw new UsageError(`--adapter takes NAME=DIR entries, got "${s}"`);
    return { name: m[1]!, dir: resolve(m[2]!) };
  });
  const blocklist = o.blocklist ? Blocklist.parse(readFileSync(o.blocklist, 'utf8')) : null;
  const logPath = o.log ? resolve(o.log) : null;
  const dir = modelDir(o.model);
  const baseName = o.name ?? basename(dir);
  if (specs.some((s) => s.name === baseName) || new Set(specs.map((s) => s.name)).size !== specs.length) {
    throw new UsageError('adapter names must differ from each other and from the base model\'s name');
  }

  const session = await openModel(out, dir);
  const adapters = new Map<string, PeftAdapterFiles>();
  for (const s of specs) adapters.set(s.name, await readPeftAdapter(session.requireModel().cfg, nodeFileTree(s.dir)));
  const engine = new Engine(session, baseName, adapters, session.requireModel().cfg.maxPositions);
  const log = logPath ? (r: LogRecord) => appendFileSync(logPath, `${JSON.stringify(r)}\n`) : null;
  const server = new ModelServer(engine, {
    apiKey: o.apiKey ?? process.env['TABTUNE_API_KEY'] ?? null,
    maxBodyBytes: o.maxBody, limits, concurrency: 1, queue: o.queue,
    check: new ContentCheck(o.check, blocklist), alerts: new AlertMonitor(rules), log,
    onAlert: (message) => out.warn(message),
  });
  await new Promise<void>((ok, fail) => {
    server.http.once('error', fail);
    server.http.listen(o.port, o.host, () => ok());
  });
  const addr = server.http.address();
  const bound = typeof addr === 'object' && addr ? `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  out.record({ listening: bound, models: engine.modelIds(), log: logPath });
  out.say(`serving ${engine.modelIds().join(', ')} at ${bound}/v1 (Ctrl-C stops)`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      server.http.close(() => done());
      server.http.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  session.dispose();
}
