/**
 * The bad-input corpus of issue 10 (and the earlier bad-input work): each case is a folder of
 * files, a command line run inside that folder, and what must happen. fuzz.test.ts runs them all
 * through the built CLI and also checks that no input changed and no half-written file is left.
 *
 * Paths in `args` are relative to the case folder. A file is text, bytes, a copy of a fixture
 * folder (relative to the repository), a link to another case file, a FIFO, or a folder.
 * `owner` says which part of issue 10 makes the case pass (for the merge of parallel branches).
 */

export type FileSpec =
  | string
  | { readonly bytes: readonly number[] }
  | { readonly repeat: string; readonly times: number; readonly prefix?: string; readonly suffix?: string }
  | { readonly copy: string; readonly edit?: Readonly<Record<string, string>>; readonly truncate?: Readonly<Record<string, number>> }
  | { readonly symlink: string }
  | { readonly hardlink: string }
  | { readonly fifo: true }
  | { readonly dir: true };

export interface FuzzCase {
  readonly id: string;
  /** The issue item (or earlier bug) the case shows. */
  readonly item: string;
  readonly owner: 'relcli' | 'reldata' | 'refactor' | 'earlier';
  readonly files: Readonly<Record<string, FileSpec>>;
  readonly args: readonly string[];
  /** Expected exit code. */
  readonly exit: number;
  /** Failing cases: the one stderr line. Passing ones (exit 0): a line that must be among stderr's. */
  readonly stderr: RegExp;
  /** Files the command may create (checked complete by their checks in fuzz.test.ts). */
  readonly outputs?: readonly string[];
  /** What an output file must (and must not) hold afterwards. */
  readonly outputHolds?: Readonly<Record<string, { readonly has?: RegExp; readonly lacks?: RegExp }>>;
  /** Heap cap for the CLI (MiB), for the bounded-memory cases. */
  readonly maxHeapMiB?: number;
}

const LLAMA = 'tests/fixtures/hf/models/tiny-llama';
/** Two pre-tokenized rows the tiny Llama fixture accepts. */
const IDS =
  '{"input_ids":[274,314,240,438,86,238,241,171,431,360,478,347],"labels":[-100,-100,-100,-100,-100,-100,241,171,431,360,478,347]}\n' +
  '{"input_ids":[28,219,372,219,486,174,34,216,31,331,303,497],"labels":[28,219,372,219,486,174,34,216,31,331,303,497]}\n';
const TEXT = '{"text":"The first record."}\n{"text":"The second record, a little longer."}\n{"text":"A third one."}\n';
const TRAIN = ['train', '--model', 'model', '--data', 'ids.jsonl', '--steps', '1', '--batch', '1', '--json'];

export const CASES: readonly FuzzCase[] = [
  // ── Files a user owns are never damaged (relcli) ──
  {
    id: 'prepare-out-is-data', item: 'data prepare --out equal to --data', owner: 'relcli',
    files: { 'd.jsonl': TEXT }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'd.jsonl'], exit: 1, stderr: /--out .*d\.jsonl: is the input --data/,
  },
  {
    id: 'prepare-out-via-dotdot', item: 'output path resolving to the input through ..', owner: 'relcli',
    files: { 'd.jsonl': TEXT, sub: { dir: true } }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'sub/../d.jsonl'], exit: 1, stderr: /is the input --data/,
  },
  {
    id: 'prepare-out-symlink-to-data', item: 'output path that is a symlink to the input', owner: 'relcli',
    files: { 'd.jsonl': TEXT, 'link.jsonl': { symlink: 'd.jsonl' } }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'link.jsonl'], exit: 1, stderr: /link\.jsonl: is the input --data/,
  },
  {
    id: 'prepare-out-hardlink-to-data', item: 'output path that is a hard link to the input', owner: 'relcli',
    files: { 'd.jsonl': TEXT, 'hard.jsonl': { hardlink: 'd.jsonl' } }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'hard.jsonl'], exit: 1, stderr: /hard\.jsonl: is the input --data/,
  },
  {
    id: 'prepare-report-is-data', item: 'no command writes over an input (--report)', owner: 'relcli',
    files: { 'd.jsonl': TEXT }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--report', 'd.jsonl'], exit: 1, stderr: /--report .*d\.jsonl: is the input --data/,
  },
  {
    id: 'prepare-out-is-blocklist', item: 'no command writes over an input (--blocklist)', owner: 'relcli',
    files: { 'd.jsonl': TEXT, 'words.txt': 'second\n' }, args: ['data', 'prepare', '--data', 'd.jsonl', '--blocklist', 'words.txt', '--out', 'words.txt'], exit: 1, stderr: /is the input --blocklist/,
  },
  {
    id: 'prepare-out-equals-report', item: 'two outputs of one command on one path', owner: 'relcli',
    files: { 'd.jsonl': TEXT }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--report', 'o.jsonl'], exit: 1, stderr: /--report .*o\.jsonl: is also --out/,
  },
  {
    id: 'prepare-out-is-fifo', item: 'an output that would block (FIFO) never hangs', owner: 'relcli',
    files: { 'd.jsonl': TEXT, 'pipe.jsonl': { fifo: true } }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'pipe.jsonl'], exit: 1, stderr: /pipe\.jsonl: is not a regular file/,
  },
  {
    id: 'prepare-out-under-file', item: 'an output path under a file', owner: 'relcli',
    files: { 'd.jsonl': TEXT }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'd.jsonl/o.jsonl'], exit: 1, stderr: /under .*d\.jsonl, which is a file/,
  },
  {
    id: 'prepare-out-proc', item: 'paths like /proc/x never hang', owner: 'relcli',
    files: { 'd.jsonl': TEXT }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', '/proc/x'], exit: 1, stderr: /--out \/proc\/x: cannot write in \/proc/,
  },
  {
    id: 'prepare-out-folder', item: 'a folder where a file goes', owner: 'relcli',
    files: { 'd.jsonl': TEXT, out: { dir: true } }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'out'], exit: 1, stderr: /--out .*out: is a folder/,
  },
  {
    id: 'prepare-ok', item: 'a good run writes its outputs whole and leaves the input as it was', owner: 'relcli',
    files: { 'd.jsonl': TEXT }, args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'new/o.jsonl', '--report', 'r.json', '--json'], exit: 0, stderr: /^$/,
    outputs: ['new', 'new/o.jsonl', 'r.json'],
  },
  {
    id: 'synth-out-is-rows', item: 'no command writes over an input (data synth)', owner: 'relcli',
    files: { 'rows.csv': 'country,capital\nFrance,Paris\n', 't.json': '[{"questions":["Capital of {country}?"],"answer":"{capital}"}]' },
    args: ['data', 'synth', '--rows', 'rows.csv', '--templates', 't.json', '--out', 'rows.csv'], exit: 1, stderr: /is the input --rows/,
  },
  {
    id: 'train-out-is-file', item: 'train --out an existing file', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS, 'x.txt': 'mine\n' }, args: [...TRAIN, '--out', 'x.txt'], exit: 1, stderr: /--out .*x\.txt: is an existing file, not a folder/,
  },
  {
    id: 'train-out-under-file', item: 'train --out a path under a file', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS, 'x.txt': 'mine\n' }, args: [...TRAIN, '--out', 'x.txt/run'], exit: 1, stderr: /under .*x\.txt, which is a file/,
  },
  {
    id: 'train-out-proc', item: 'train --out /proc/x never hangs', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS }, args: [...TRAIN, '--out', '/proc/x'], exit: 1, stderr: /--out \/proc\/x: cannot write/,
  },
  {
    id: 'train-out-nonempty', item: 'train --out a non-empty folder that is not a previous run', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS, 'photos/cat.jpg': 'not a run' }, args: [...TRAIN, '--out', 'photos'], exit: 1, stderr: /photos: is a folder with 1 other entry in it and not a previous tabtune training run/,
  },
  {
    id: 'train-out-is-model', item: 'train --out the model folder', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS }, args: [...TRAIN, '--out', 'model'], exit: 1, stderr: /--out .*model: is the input --model/,
  },
  {
    id: 'train-out-is-init-adapter', item: 'train --out the adapter it starts from', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS }, args: [...TRAIN, '--init-adapter', 'model/adapter', '--out', 'model/adapter'], exit: 1, stderr: /is the input --init-adapter/,
  },
  {
    id: 'train-zip-is-data', item: 'train --zip onto the data file', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS, 'run.zip': { hardlink: 'ids.jsonl' } }, args: [...TRAIN, '--out', 'run', '--zip'], exit: 1, stderr: /--out \(\.zip\) .*run\.zip: is the input --data/,
  },
  {
    id: 'train-out-earlier-checkpoints', item: 'a fresh run never replaces the checkpoints of an earlier run in its --out', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS, 'run/checkpoint-5/trainer_state.json': '{"step":5}', 'run/run_manifest.json': '{}' },
    args: [...TRAIN, '--out', 'run'], exit: 1, stderr: /--out .*run: holds the checkpoints of an earlier run; continue it with --resume/,
  },
  {
    id: 'train-resume-damaged', item: 'a bit-flipped checkpoint is detected, not trained on', owner: 'relcli',
    files: {
      model: { copy: LLAMA }, 'ids.jsonl': IDS,
      'ck/trainer_state.json': '{"step":1}', 'ck/optimizer.safetensors': 'x',
      'ck/checksums.json': '{"sha256":{"optimizer.safetensors":"0000000000000000000000000000000000000000000000000000000000000000"}}',
    },
    args: [...TRAIN, '--out', 'run', '--resume', 'ck'], exit: 1, stderr: /ck: cannot resume from this checkpoint: optimizer\.safetensors does not match its SHA-256/,
  },
  {
    id: 'train-resume-no-checkpoint', item: '--resume a folder without a checkpoint', owner: 'relcli',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS, 'empty/': { dir: true } }, args: [...TRAIN, '--out', 'run', '--resume', 'empty'], exit: 1, stderr: /empty: no trainer_state\.json here and no checkpoint-N folder inside/,
  },
  {
    id: 'merge-out-is-adapter', item: 'merge --out the adapter folder', owner: 'relcli',
    files: { model: { copy: LLAMA } }, args: ['merge', '--model', 'model', '--adapter', 'model/adapter', '--out', 'model/adapter'], exit: 1, stderr: /is the input --adapter/,
  },
  {
    id: 'init-out-is-file', item: 'init --out an existing file', owner: 'relcli',
    files: { 'x.txt': 'mine\n' }, args: ['init', '--like', 'gpt2', '--out', 'x.txt'], exit: 1, stderr: /--out .*x\.txt: is an existing file/,
  },

  // ── Inputs are read without silent loss (reldata) ──
  {
    id: 'csv-unbalanced-quote', item: 'CSV with an unbalanced quote: every row imported or reported with its line', owner: 'reldata',
    files: { 'q.csv': 'prompt,completion\nHello,World\n"Broken,row\nAnother,row\nLast,one\n' },
    args: ['data', 'prepare', '--data', 'q.csv', '--out', 'o.jsonl', '--dedup', 'off'], exit: 0, stderr: /q\.csv:3: .*quote/i, outputs: ['o.jsonl'],
  },
  {
    id: 'jsonl-invalid-utf8', item: 'invalid UTF-8 in one JSONL line rejects that line with its number', owner: 'reldata',
    files: { 'u.jsonl': { bytes: [...Buffer.from('{"text":"good one"}\n{"text":"bad '), 0xff, 0xfe, ...Buffer.from('"}\n{"text":"good two"}\n')] } },
    args: ['data', 'prepare', '--data', 'u.jsonl', '--out', 'o.jsonl', '--dedup', 'off'], exit: 0, stderr: /u\.jsonl:2: .*UTF-8/i, outputs: ['o.jsonl'],
  },
  {
    id: 'chat-unknown-role', item: 'chat records with unknown roles are reported at import with line and reason', owner: 'reldata',
    files: { 'c.jsonl': '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n{"messages":[{"role":"wizard","content":"abracadabra"},{"role":"assistant","content":"ok"}]}\n' },
    args: ['data', 'stats', '--data', 'c.jsonl'], exit: 0, stderr: /c\.jsonl:2: .*wizard/,
  },
  {
    id: 'chat-odd-order', item: 'chat records whose order is odd (assistant first, user last) are reported at import', owner: 'reldata',
    files: { 'c.jsonl': '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n{"messages":[{"role":"assistant","content":"first"},{"role":"user","content":"last"}]}\n' },
    args: ['data', 'stats', '--data', 'c.jsonl'], exit: 0, stderr: /c\.jsonl:2: .*(order|assistant|user)/,
  },
  {
    id: 'zero-records', item: 'zero usable records is an error, never a green "imported"', owner: 'reldata',
    files: { 'empty.jsonl': '' }, args: ['data', 'prepare', '--data', 'empty.jsonl', '--out', 'o.jsonl'], exit: 1, stderr: /empty\.jsonl: .*(no|zero) .*records/,
  },
  {
    id: 'record-50mb', item: 'a 50 MB single record is handled in bounded memory', owner: 'reldata',
    files: { 'big.jsonl': { prefix: '{"text":"', repeat: 'lorem ipsum ', times: 4_400_000, suffix: '"}\n{"text":"small"}\n' } },
    args: ['data', 'stats', '--data', 'big.jsonl'], exit: 0, stderr: /big\.jsonl:1: /, maxHeapMiB: 768,
  },
  {
    id: 'question-answer-csv', item: 'question,answer CSV is recognised without manual mapping', owner: 'reldata',
    files: { 'qa.csv': 'question,answer\nWhat is 2+2?,4\nCapital of France?,Paris\n' },
    args: ['data', 'stats', '--data', 'qa.csv', '--json'], exit: 0, stderr: /^$/,
  },

  {
    id: 'columns-flag', item: '--columns prompt=question,completion=answer maps other column names', owner: 'reldata',
    files: { 'qa.csv': 'q,a\nWhat is 2+2?,4\nCapital of France?,Paris\n' },
    args: ['data', 'prepare', '--data', 'qa.csv', '--columns', 'prompt=q,completion=a', '--out', 'o.jsonl', '--dedup', 'off', '--json'], exit: 0, stderr: /^$/,
    outputs: ['o.jsonl'], outputHolds: { 'o.jsonl': { has: /"prompt":"Capital of France\?"/ } },
  },
  {
    id: 'near-dup-keeps-cleanest', item: 'near-duplicate removal keeps the cleanest copy, not the first', owner: 'reldata',
    files: {
      'd.jsonl':
        '{"text":"THE CAPITAL OF FRANCE IS PARIS AND IT LIES ON THE RIVER SEINE IN THE NORTH OF THE COUNTRY!!!!!!"}\n' +
        '{"text":"The capital of France is Paris and it lies on the river Seine in the north of the country."}\n',
    },
    args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--dedup', 'near', '--near-threshold', '0.3', '--json'], exit: 0, stderr: /^$/,
    outputs: ['o.jsonl'], outputHolds: { 'o.jsonl': { has: /The capital of France is Paris/, lacks: /THE CAPITAL/ } },
  },
  {
    id: 'iban-masked', item: 'IBANs (mod-97 checked) join the personal-data detectors', owner: 'reldata',
    files: { 'd.jsonl': '{"text":"Please pay to DE89 3704 0044 0532 0130 00 by Friday."}\n{"text":"Not an IBAN: DE00 1234 5678 9012 3456 78."}\n' },
    args: ['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--pii', 'mask', '--dedup', 'off', '--json'], exit: 0, stderr: /^$/,
    outputs: ['o.jsonl'], outputHolds: { 'o.jsonl': { has: /DE00 1234 5678 9012 3456 78/, lacks: /DE89 3704 0044 0532 0130 00/ } },
  },

  // ── Hostile templates (reldata) ──
  {
    id: 'chat-template-loop', item: 'a chat template that loops stops with one clear error', owner: 'reldata',
    files: {
      model: { copy: LLAMA, edit: { 'chat_template.jinja': '{% for i in range(1000000000) %}{{ i }}{% endfor %}' } },
      'c.jsonl': '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n',
    },
    args: ['eval', '--model', 'model', '--data', 'c.jsonl', '--json'], exit: 1, stderr: /chat.template/i,
  },
  {
    id: 'chat-template-huge-string', item: 'a chat template that builds a huge string stops with one clear error', owner: 'reldata',
    files: {
      model: { copy: LLAMA, edit: { 'chat_template.jinja': '{% set s = namespace(t="x") %}{% for i in range(64) %}{% set s.t = s.t ~ s.t %}{% endfor %}{{ s.t }}' } },
      'c.jsonl': '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n',
    },
    args: ['eval', '--model', 'model', '--data', 'c.jsonl', '--json'], exit: 1, stderr: /chat.template/i, maxHeapMiB: 1024,
  },

  // ── Flags are checked (refactor) ──
  ...(
    [
      ['warmup', '-1'], ['clip', '-1'], ['save-every', '-1'], ['lora-alpha', '0'], ['lora-r', '0'], ['lr', '-1'], ['batch', '0'], ['grad-accum', '0'],
      ['max-seq-len', '0'], ['val-split', '2'], ['lora-dropout', '1.5'], ['epochs', '0'],
    ] as const
  ).map(([flag, value]): FuzzCase => ({
    id: `flag-${flag}-${value}`, item: `--${flag} ${value} is refused naming the flag`, owner: 'refactor',
    files: { model: { copy: LLAMA }, 'ids.jsonl': IDS }, args: [...TRAIN, '--out', 'run', `--${flag}`, value], exit: 2, stderr: new RegExp(`--${flag}\\b`),
  })),
  {
    id: 'flag-unknown', item: 'an unknown flag is a usage error', owner: 'earlier',
    files: {}, args: ['train', '--bogus', '1'], exit: 2, stderr: /unknown flag --bogus/,
  },
  {
    id: 'flag-not-a-number', item: 'a number flag given a word', owner: 'earlier',
    files: {}, args: ['train', '--lr', 'fast'], exit: 2, stderr: /--lr/,
  },

  // ── Earlier bad-input work (tests/cli/cli.test.ts and others) ──
  {
    id: 'model-truncated', item: 'a truncated model file', owner: 'earlier',
    files: { model: { copy: LLAMA, truncate: { 'model.safetensors': 0.5 } }, 'ids.jsonl': IDS }, args: ['eval', '--model', 'model', '--data', 'ids.jsonl', '--json'], exit: 1, stderr: /model\.safetensors/,
  },
  {
    id: 'model-bad-header', item: 'a corrupted model file header', owner: 'earlier',
    files: { model: { copy: LLAMA, edit: { 'model.safetensors': '\u0010\u0000\u0000\u0000\u0000\u0000\u0000\u0000{"x": [        ' } } },
    args: ['generate', '--model', 'model', '--prompt-ids', '1,2', '--max-new-tokens', '2', '--json'], exit: 1, stderr: /model\.safetensors/,
  },
  {
    id: 'config-missing-field', item: 'a config missing a field', owner: 'earlier',
    files: { model: { copy: LLAMA, edit: { 'config.json': '{"model_type":"llama","architectures":["LlamaForCausalLM"]}' } }, 'ids.jsonl': IDS },
    args: ['eval', '--model', 'model', '--data', 'ids.jsonl', '--json'], exit: 1, stderr: /config\.json/,
  },
  {
    id: 'config-not-json', item: 'a config that is not JSON', owner: 'earlier',
    files: { model: { copy: LLAMA, edit: { 'config.json': '{"model_type": "llama",' } }, 'ids.jsonl': IDS },
    args: ['eval', '--model', 'model', '--data', 'ids.jsonl', '--json'], exit: 1, stderr: /config\.json/,
  },
  {
    id: 'tokenizer-unknown-pretokenizer', item: 'a tokenizer.json with an unknown pre-tokenizer', owner: 'earlier',
    files: { tok: { copy: 'tests/fixtures/hf/tokenizers/bpe512-chat', edit: { 'tokenizer.json': '{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Bogus"}}' } } },
    args: ['tokenize', '--model', 'tok', '--text', 'hello'], exit: 1, stderr: /tokenizer\.json.*Bogus/,
  },
  {
    id: 'adapter-shape-mismatch', item: 'an adapter whose shapes do not fit the model', owner: 'earlier',
    files: {
      model: { copy: LLAMA, edit: { 'adapter/adapter_config.json': '{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj"],"task_type":"CAUSAL_LM"}' } },
      'ids.jsonl': IDS,
    },
    args: ['eval', '--model', 'model', '--adapter', 'model/adapter', '--data', 'ids.jsonl', '--json'], exit: 1, stderr: /adapter/,
  },
  {
    id: 'data-missing', item: 'a data file that does not exist', owner: 'earlier',
    files: { model: { copy: LLAMA } }, args: ['eval', '--model', 'model', '--data', 'nope.jsonl', '--json'], exit: 1, stderr: /nope\.jsonl/,
  },
  {
    id: 'data-is-folder', item: 'a data path that is a folder', owner: 'earlier',
    files: { 'd/': { dir: true } }, args: ['data', 'stats', '--data', 'd'], exit: 1, stderr: /\bd: cannot read/,
  },
  {
    id: 'model-missing', item: 'a model folder that does not exist', owner: 'earlier',
    files: { 'ids.jsonl': IDS }, args: ['eval', '--model', 'nowhere', '--data', 'ids.jsonl', '--json'], exit: 1, stderr: /nowhere/,
  },
  {
    id: 'jsonl-malformed-line', item: 'a malformed JSON line is reported with its number; the good lines are kept', owner: 'earlier',
    files: { 'm.jsonl': '{"text":"good one"}\n{"text": broken\n{"text":"good two"}\n' },
    args: ['data', 'prepare', '--data', 'm.jsonl', '--out', 'o.jsonl', '--dedup', 'off'], exit: 0, stderr: /m\.jsonl:2: /, outputs: ['o.jsonl'],
  },
  {
    id: 'token-ids-out-of-vocab', item: 'token ids outside the vocabulary', owner: 'earlier',
    files: { model: { copy: LLAMA }, 'ids.jsonl': '{"input_ids":[1,2,99999]}\n' }, args: ['eval', '--model', 'model', '--data', 'ids.jsonl', '--json'], exit: 1, stderr: /ids\.jsonl: no usable records.*outside the vocabulary/,
  },
  {
    id: 'unknown-command', item: 'an unknown command', owner: 'earlier',
    files: {}, args: ['trian'], exit: 2, stderr: /unknown command "trian"/,
  },
];
