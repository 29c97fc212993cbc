import { DeviceLostError, InputError, LimitError } from '../core/errors.ts';
import { helpText, parseArgs, UsageError, type CommandSpec, type Parsed } from './args.ts';
import { OutputError } from '../platform/node-atomic.ts';
import { Output, watchStdout } from './output.ts';
import * as bench from './commands/bench.ts';
import * as data from './commands/data.ts';
import * as dataPreference from './commands/data-preference.ts';
import * as demo from './commands/demo.ts';
import * as evalCommand from './commands/eval.ts';
import * as exportCommand from './commands/export.ts';
import * as feedback from './commands/feedback.ts';
import * as monitor from './commands/monitor.ts';
import * as generate from './commands/generate.ts';
import * as init from './commands/init.ts';
import * as merge from './commands/merge.ts';
import * as serve from './commands/serve.ts';
import * as tokenize from './commands/tokenize.ts';
import * as train from './commands/train.ts';
import * as trainCpt from './commands/train-cpt.ts';
import * as trainGate from './commands/train-gate.ts';

interface Command {
  readonly spec: CommandSpec;
  run(p: Parsed, out: Output): Promise<void>;
}

const COMMANDS: readonly Command[] = [
  demo, train, trainCpt, trainGate, evalCommand, generate, tokenize, merge, init, bench, exportCommand, serve, monitor, feedback,
  { spec: data.prepareSpec, run: data.prepare },
  { spec: data.statsSpec, run: data.stats },
  { spec: dataPreference.previewSpec, run: dataPreference.preview },
  { spec: data.synthSpec, run: data.synth },
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  return [
    'tabtune: fine-tune small language models on WebGPU, privately.',
    '',
    'Usage: tabtune <command> [options]   (tabtune <command> --help for its options)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  watchStdout();
  // Two-word commands: `tabtune data prepare ...`.
  const [first, ...tail] = argv;
  const [name, ...rest] = first === 'data' && tail[0] && !tail[0].startsWith('-') ? [`data ${tail[0]}`, ...tail.slice(1)] : [first, ...tail];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.spec.name === name);
  if (!cmd) {
    process.stderr.write(`tabtune: unknown command "${name}" (tabtune --help lists the commands)\n`);
    return 2;
  }
  let out = new Output(rest.includes('--json'));
  try {
    const p = parseArgs(cmd.spec, rest);
    if (p.help) {
      process.stdout.write(`${helpText(cmd.spec)}\n`);
      return 0;
    }
    out = new Output(p.json === true);
    await cmd.run(p, out);
    return 0;
  } catch (e) {
    out.clearProgress();
    const err = e as Error;
    if (process.env.TABTUNE_DEBUG) console.error(err);
    const known = [InputError, OutputError, LimitError, UsageError, DeviceLostError, RangeError].some((k) => err instanceof k);
    process.stderr.write(`tabtune: ${known ? err.message : `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

// Dawn keeps the process alive after the work is done; exit explicitly.
main(process.argv.slice(2)).then((code) => process.exit(code));
