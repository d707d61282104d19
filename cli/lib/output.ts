import { secretRegistry } from '../../shared/logging/redaction.js';

/** Where a command writes; a test passes strings, the launcher passes the process streams. */
export interface Output {
  /** Writes one line to standard output, scrubbed of every registered secret value. */
  line(text?: string): void;
  /** Writes one line to standard error, scrubbed the same way. */
  error(text: string): void;
  /** Writes a JSON document (for `--json`), scrubbed the same way. */
  json(value: unknown): void;
  /** Rewrites the current terminal line (progress); a plain line when not a TTY. */
  status(text: string): void;
  /** Whether standard output is a terminal (progress rewrites, colour). */
  readonly tty: boolean;
  readonly style: Style;
}

/** ANSI styling that is a no-op without colour. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

function ansi(open: number, close: number, on: boolean) {
  return (text: string) => (on ? `\u001b[${open}m${text}\u001b[${close}m` : text);
}

/** Colour styling, or plain text when `on` is false. */
export function createStyle(on: boolean): Style {
  return {
    bold: ansi(1, 22, on),
    dim: ansi(2, 22, on),
    red: ansi(31, 39, on),
    green: ansi(32, 39, on),
    yellow: ansi(33, 39, on),
    cyan: ansi(36, 39, on),
  };
}

/**
 * Output on the process streams. Colour only on a TTY, never with `NO_COLOR` or `--no-color`.
 * Every write is scrubbed of registered secret values: the commands never print values, and
 * this makes a mistake in a message (a driver error quoting a password) harmless.
 */
export function processOutput(options: { color?: boolean } = {}): Output {
  const tty = Boolean(process.stdout.isTTY);
  const color = (options.color ?? true) && tty && !('NO_COLOR' in process.env);
  let statusShown = false;
  const clearStatus = () => {
    if (statusShown) {
      process.stdout.write('\r\u001b[2K');
      statusShown = false;
    }
  };
  return {
    tty,
    style: createStyle(color),
    line(text = '') {
      clearStatus();
      process.stdout.write(`${secretRegistry.scrub(text)}\n`);
    },
    error(text) {
      clearStatus();
      process.stderr.write(`${secretRegistry.scrub(text)}\n`);
    },
    json(value) {
      clearStatus();
      process.stdout.write(`${secretRegistry.scrub(JSON.stringify(value, null, 2))}\n`);
    },
    status(text) {
      if (!tty) {
        process.stdout.write(`${secretRegistry.scrub(text)}\n`);
        return;
      }
      process.stdout.write(`\r\u001b[2K${secretRegistry.scrub(text)}`);
      statusShown = true;
    },
  };
}

/** Visible width of a string (ANSI codes do not count). */
export function visibleWidth(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what we strip.
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/**
 * A plain-text table: a header row and rows of cells, columns padded to their widest cell.
 * The last column is not padded, so long values wrap naturally in a narrow terminal.
 */
export function renderTable(header: string[], rows: string[][], style: Style): string[] {
  const widths = header.map((h, i) =>
    Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleWidth(cell)),
      )
      .join('  ')
      .trimEnd();
  return [style.bold(render(header)), ...rows.map(render)];
}

/** A duration in the largest sensible unit: `<1s`, `45s`, `12m`, `3h 5m`, `4d 2h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s === 0) return '<1s';
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** An ISO date to the minute, UTC (`2026-11-27 00:30Z`), or `-`. */
export function formatDate(date: Date | undefined): string {
  if (!date) return '-';
  return `${date.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** The first 8 characters of a version id: enough to tell versions apart in a table. */
export function shortId(versionId: string): string {
  return versionId.slice(0, 8);
}

/** Quotes an argument for a POSIX shell when needed, for printed fix commands. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
