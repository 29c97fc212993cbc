/**
 * What the CLI prints: JSON lines on stdout with --json (for scripts), and a readable progress
 * line on stderr for people (redrawn in place on a terminal, one line per update otherwise).
 */
export class Output {
  private lastDraw = 0;
  private drawn = false;

  constructor(readonly json: boolean) {}

  /** A JSON record on stdout (--json only). */
  record(obj: unknown): void {
    if (this.json && !stdoutClosed) process.stdout.write(`${JSON.stringify(obj)}\n`);
  }

  /** A line for people on stdout (without --json). */
  say(text: string): void {
    if (!this.json && !stdoutClosed) {
      this.clearProgress();
      process.stdout.write(`${text}\n`);
    }
  }

  /** A status line on stderr, throttled; on a terminal it redraws in place. */
  progress(text: string, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < (process.stderr.isTTY ? 200 : 2000)) return;
    this.lastDraw = now;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else if (!this.json) {
      process.stderr.write(`${text}\n`);
    }
  }

  clearProgress(): void {
    if (this.drawn && process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }

  warn(text: string): void {
    this.clearProgress();
    process.stderr.write(`tabtune: ${text}\n`);
  }
}

let stdoutClosed = false;
const closedListeners: (() => void)[] = [];

/**
 * A reader that leaves early (`tabtune train --json | head -1`) is not an error: printing stops
 * (EPIPE is swallowed, no stack trace) and the running command is told, so it can stop at a clean
 * point and leave its files complete.
 */
export function watchStdout(): void {
  const closed = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (stdoutClosed) return;
    stdoutClosed = true;
    for (const f of closedListeners.splice(0)) f();
  };
  process.stdout.on('error', closed);
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

/** Runs `f` once when stdout's reader goes away. */
export function onStdoutClosed(f: () => void): void {
  if (stdoutClosed) f();
  else closedListeners.push(f);
}

export function bar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
