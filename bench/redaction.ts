/**
 * Log redaction cost: how long scrubbing a text takes with 50 registered secrets, one of
 * them 65,536 characters (Secrets Manager's largest `SecretString`), over a 10 KB and a
 * 1 MB text. Run alone with `npm run bench -- redaction`.
 */
import { randomBytes } from 'node:crypto';
import { SecretRegistry } from '../shared/logging/redaction.js';

/** One measured figure, as bench/run.ts records them. */
export interface RedactionFigure {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** What a registry needs to offer to be measured here (so an older one can be compared). */
export interface Scrubber {
  register(value: string): void;
  scrub(text: string): string;
}

/** 50 values: 49 passwords and one 65,536-character value with characters escaping changes. */
export function benchValues(largeLength = 65_536): string[] {
  const values = Array.from({ length: 49 }, () => randomBytes(24).toString('base64'));
  // base64 has '+', '/' and '=': URL-encoding changes them, so every spelling is distinct.
  values.push(randomBytes(largeLength).toString('base64').slice(0, largeLength));
  return values;
}

/** `size` characters of log-like text quoting a few of `values` (and a 1 KB slice of the large one). */
export function benchText(size: number, values: readonly string[]): string {
  const parts: string[] = [];
  let length = 0;
  let i = 0;
  while (length < size) {
    const filler = `{"level":"INFO","message":"step ${i}","detail":"${randomBytes(48).toString('hex')}"}\n`;
    parts.push(filler);
    length += filler.length;
    if (i % 40 === 0) {
      const quoted = `password=${values[i % 49]} `;
      parts.push(quoted);
      length += quoted.length;
    }
    i += 1;
  }
  parts.push(`large=${(values[49] ?? '').slice(0, 1024)}`);
  return parts.join('').slice(0, size);
}

function stats(samples: number[]): { min: number; median: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Times `scrub` over a 10 KB and a 1 MB text (min, median and max in ms), and the first scrub
 * after registration, which builds the index.
 */
export function measureRedaction(
  makeScrubber: () => Scrubber = () => new SecretRegistry(),
  values: readonly string[] = benchValues(),
): RedactionFigure[] {
  const figures: RedactionFigure[] = [];
  const scrubber = makeScrubber();
  for (const value of values) scrubber.register(value);
  const note = `50 values (one of ${Math.max(...values.map((v) => v.length))} characters), 8 spellings each`;
  const buildStart = performance.now();
  scrubber.scrub('warm-up');
  figures.push({
    name: 'redaction.index.build',
    value: performance.now() - buildStart,
    unit: 'ms',
    note,
  });
  for (const [label, size, runs] of [
    ['10KB', 10_000, 200],
    ['1MB', 1_000_000, 20],
  ] as const) {
    const text = benchText(size, values);
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      const scrubbed = scrubber.scrub(text);
      samples.push(performance.now() - start);
      if (scrubbed.includes(values[0] as string))
        throw new Error('bench: a value was not scrubbed');
    }
    const { min, median, max } = stats(samples);
    figures.push({ name: `redaction.scrub.${label}.min`, value: min, unit: 'ms', note });
    figures.push({ name: `redaction.scrub.${label}.median`, value: median, unit: 'ms' });
    figures.push({ name: `redaction.scrub.${label}.max`, value: max, unit: 'ms' });
  }
  return figures;
}
