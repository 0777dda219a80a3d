/**
 * Everything the CLI prints goes through here: a JSON document per result with `--json`, human text
 * otherwise; live-redrawn blocks only on a terminal, plain appended lines when piped.
 */

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Output {
  readonly json: boolean;
  /** True when stdout is a terminal and we print for a person: redraw in place, draw progress bars. */
  readonly interactive: boolean;
  /** Prints a command's result: the data as JSON with `--json`, otherwise the human rendering. */
  result<T>(data: T, human: (data: T) => string): void;
  /** A notable moment in a long-running command (`listening on …`, `worker ready`). */
  event(name: string, data: Record<string, unknown>, human: string): void;
  /**
   * A changing view (status --watch). On a terminal the block replaces the previous one; piped, only lines
   * that differ from the previous block are appended; with `--json` each view is one JSON line.
   */
  live<T>(data: T, human: (data: T) => string): void;
  /** The one line on stderr that explains a failure, then one line per detail (each problem it found). */
  error(message: string, details?: readonly string[]): void;
}

export interface OutputOptions {
  readonly json?: boolean;
  readonly stdout?: OutputStream;
  readonly stderr?: OutputStream;
}

export function createOutput(options: OutputOptions = {}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const json = options.json ?? false;
  const interactive = !json && stdout.isTTY === true;
  let previousLive: string[] = [];

  const writeLines = (text: string): void => {
    if (text.length > 0) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  };

  return {
    json,
    interactive,
    result(data, human) {
      if (json) stdout.write(`${JSON.stringify(data, jsonReplacer, 2)}\n`);
      else writeLines(human(data));
    },
    event(name, data, human) {
      if (json) stdout.write(`${JSON.stringify({ event: name, ...data }, jsonReplacer)}\n`);
      else writeLines(human);
    },
    live(data, human) {
      if (json) {
        stdout.write(`${JSON.stringify(data, jsonReplacer)}\n`);
        return;
      }
      const lines = human(data).split('\n');
      if (interactive) {
        // Move up over the previous block and clear to the end of the screen before redrawing it.
        if (previousLive.length > 0) stdout.write(`\x1b[${previousLive.length}F\x1b[J`);
        writeLines(lines.join('\n'));
      } else {
        const previous = new Set(previousLive);
        writeLines(lines.filter((line) => !previous.has(line)).join('\n'));
      }
      previousLive = lines;
    },
    error(message, details = []) {
      const lines = [`rollout: ${message.split('\n')[0]}`, ...details.map((detail) => `  ${detail}`)];
      stderr.write(`${lines.join('\n')}\n`);
    },
  };
}

/** `[██████░░░░]  6/10` on a terminal, `6/10` otherwise. */
export function progress(done: number, total: number, interactive: boolean, width = 20): string {
  const count = `${done}/${total}`;
  if (!interactive) return count;
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${count.padStart(7)}`;
}

/** Left-aligned columns for human tables. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, index) => cell.padEnd(widths[index] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
