import { createStyle, type Output } from '../../cli/lib/output.js';

/** A CLI {@link Output} that keeps every line, for tests that run `main()` in process. */
export function captureOutput(): Output & { text(): string } {
  const lines: string[] = [];
  return {
    tty: false,
    style: createStyle(false),
    line: (t = '') => lines.push(t),
    error: (t) => lines.push(t),
    json: (v) => lines.push(JSON.stringify(v)),
    status: (t) => lines.push(t),
    text: () => lines.join('\n'),
  };
}
