import { afterEach, beforeEach } from 'vitest';

/** Every line written to stdout/stderr while capturing (Powertools Logger writes JSON lines to stdout). */
export interface CapturedLogs {
  readonly lines: string[];
  /** Lines parsed as JSON (non-JSON lines skipped). */
  json(): Record<string, unknown>[];
  /** Throws naming the line number (never the value) if any line contains one of `values`. */
  assertNoneContain(values: Iterable<string>): void;
}

/**
 * Captures process output for the duration of each test in the calling file. Writes are
 * swallowed so secret-bearing test runs do not print; call `assertNoneContain` to prove no
 * secret value of the test reached a log line.
 */
export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: unknown) => {
    const text =
      typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') lines.push(line);
    return true;
  };
  beforeEach(() => {
    lines.length = 0;
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
  });
  return {
    lines,
    json: () =>
      lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    assertNoneContain(values) {
      for (const value of values) {
        if (value.length < 4) continue;
        const variants = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
        lines.forEach((line, index) => {
          if (variants.some((v) => line.includes(v))) {
            throw new Error(
              `captured log line ${index + 1} of ${lines.length} contains a secret value`,
            );
          }
        });
      }
    },
  };
}

/**
 * `adminSessionReused` of every "Alternate user ready" line captured so far, in order: one
 * per alternating setSecret that finished, true where it ran on a kept admin session.
 */
export function adminSessionsReused(logs: CapturedLogs): unknown[] {
  return logs
    .json()
    .filter((line) => line.message === 'Alternate user ready')
    .map((line) => line.adminSessionReused);
}
