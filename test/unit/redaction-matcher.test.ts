import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRegistry, SecretValues } from '../../shared/logging/redaction.js';
import { mergeRanges, ValueMatcher } from '../../shared/logging/ValueMatcher.js';

describe('ValueMatcher', () => {
  it('finds every value in one pass, in text order', () => {
    const matcher = ValueMatcher.of(['hunter2', 's3cret', 'cretin']);
    expect(matcher.ranges('user hunter2 said s3cret')).toEqual([
      { start: 5, end: 12 },
      { start: 18, end: 24 },
    ]);
  });

  it('covers the longest value where a value and a longer spelling of it overlap', () => {
    const matcher = ValueMatcher.of(['abcd', 'abcd%2F', 'xabcd']);
    expect(matcher.ranges('=abcd%2F=')).toEqual([{ start: 1, end: 8 }]);
    expect(matcher.ranges('=xabcd=')).toEqual([{ start: 1, end: 6 }]);
  });

  it('merges overlapping occurrences of different values, keeps adjacent ones apart', () => {
    const matcher = ValueMatcher.of(['abcdef', 'defghi', 'XYZW']);
    expect(matcher.ranges('_abcdefghi_')).toEqual([{ start: 1, end: 10 }]);
    expect(matcher.ranges('XYZWXYZW')).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
    ]);
  });

  it('handles code units beyond ASCII and values sharing prefixes', () => {
    const matcher = ValueMatcher.of(['pässwörd', 'päss', '密码密码', '😀😀']);
    expect(matcher.ranges('a pässwörd, 密码密码 and 😀😀')).toEqual([
      { start: 2, end: 10 },
      { start: 12, end: 16 },
      { start: 21, end: 25 },
    ]);
  });

  it('stays linear on near-copies of a long periodic value', () => {
    const value = `${'a'.repeat(65_535)}b`;
    const matcher = ValueMatcher.of([value]);
    const started = performance.now();
    expect(matcher.ranges('a'.repeat(1_000_000))).toEqual([]);
    expect(matcher.ranges(`x${value}x`)).toEqual([{ start: 1, end: 65_537 }]);
    // A per-position comparison would take minutes here.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('mergeRanges unions range lists of several matchers', () => {
    expect(
      mergeRanges([
        [
          { start: 0, end: 4 },
          { start: 10, end: 12 },
        ],
        [{ start: 3, end: 6 }],
        [],
      ]),
    ).toEqual([
      { start: 0, end: 6 },
      { start: 10, end: 12 },
    ]);
  });
});

describe('SecretRegistry with large values', () => {
  it('scrubs a 65,536-character value and its spellings (a RegExp of it is refused by V8)', () => {
    const registry = new SecretRegistry();
    const value = randomBytes(65_536).toString('base64').slice(0, 65_536);
    registry.registerSecretString(value);
    const text = [
      value,
      encodeURIComponent(value),
      Buffer.from(value).toString('base64'),
      JSON.stringify({ v: value }),
    ].join('\n');
    const scrubbed = registry.scrub(text);
    expect(scrubbed).toBe(`${REDACTED}\n${REDACTED}\n${REDACTED}\n{"v":"${REDACTED}"}`);
  });

  it('indexes values registered between scrubs as further batches, and still finds every one', () => {
    const set = new SecretValues();
    const values = Array.from({ length: 30 }, () => randomBytes(9).toString('hex'));
    for (const value of values) {
      set.add(value);
      expect(set.scrub(`<${value}>`)).toBe(`<${REDACTED}>`);
    }
    expect(set.scrub(values.join(' '))).toBe(values.map(() => REDACTED).join(' '));
    expect(set.matchers().length).toBeLessThanOrEqual(8);
  });
});
