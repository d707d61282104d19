import { describe, expect, it } from 'vitest';
import { ConfigurationError, SecretFormatError } from '../../shared/errors.js';
import { isValidJsonPath, readJsonPath } from '../../shared/strategies/apikey/jsonPath.js';
import {
  DEFAULT_KEY_FORMAT,
  generateApiKey,
  KEY_ALPHABETS,
  keyFormatFromEnv,
  keyFormatFromSecret,
  keyFormatProblem,
} from '../../shared/strategies/apikey/keyFormat.js';

/** The error `fn` throws, or `undefined` (then the test's expectations fail). */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('self-issued key format', () => {
  it('generates prefix + length characters from the alphabet, different every time', () => {
    const format = { prefix: 'sk_live_', length: 32, alphabet: KEY_ALPHABETS.base62 };
    const keys = Array.from({ length: 50 }, () => generateApiKey(format));
    for (const key of keys) {
      expect(key.startsWith('sk_live_')).toBe(true);
      expect(key).toHaveLength(8 + 32);
      expect(keyFormatProblem(key, format)).toBeUndefined();
    }
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('draws every character of the alphabet (no modulo truncation of the alphabet)', () => {
    const format = { prefix: '', length: 2_000, alphabet: KEY_ALPHABETS.base58 };
    const seen = new Set(generateApiKey(format));
    expect(seen.size).toBe(KEY_ALPHABETS.base58.length);
  });

  it.each([
    ['API_KEY_LENGTH', { API_KEY_LENGTH: 'ten' }],
    ['API_KEY_LENGTH', { API_KEY_LENGTH: '8' }],
    ['API_KEY_LENGTH', { API_KEY_ALPHABET: 'hex', API_KEY_LENGTH: '31' }],
    ['API_KEY_PREFIX', { API_KEY_PREFIX: 'sk live' }],
    ['API_KEY_ALPHABET', { API_KEY_ALPHABET: 'abc' }],
    ['API_KEY_ALPHABET', { API_KEY_ALPHABET: 'aabcdefghijklmnopqrstuvwxyz' }],
    ['API_KEY_ALPHABET', { API_KEY_ALPHABET: 'abcdefghijklmnop"' }],
  ])('rejects a bad environment at start-up naming %s', (field, env) => {
    const error = caught(() => keyFormatFromEnv(env));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe(field);
  });

  it('reads the environment over the default and the secret over the environment', () => {
    const fromEnv = keyFormatFromEnv({
      API_KEY_PREFIX: 'sk_',
      API_KEY_ALPHABET: 'hex',
      API_KEY_LENGTH: '64',
    });
    expect(fromEnv).toEqual({ prefix: 'sk_', length: 64, alphabet: KEY_ALPHABETS.hex });
    expect(keyFormatFromEnv({})).toEqual(DEFAULT_KEY_FORMAT);
    const fromSecret = keyFormatFromSecret({ prefix: 'pk_test_' }, fromEnv);
    expect(fromSecret).toEqual({ ...fromEnv, prefix: 'pk_test_' });
  });

  it('names the secret field of a bad per-secret format', () => {
    expect(() => keyFormatFromSecret({ length: 4 }, DEFAULT_KEY_FORMAT)).toThrow(SecretFormatError);
    const error = caught(() => keyFormatFromSecret({ alphabet: 12 }, DEFAULT_KEY_FORMAT));
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe('keyFormat.alphabet');
    expect(() => keyFormatFromSecret('base62', DEFAULT_KEY_FORMAT)).toThrow(/keyFormat/);
  });

  it('explains why a key does not match, without quoting it', () => {
    const format = { prefix: 'sk_', length: 20, alphabet: KEY_ALPHABETS.hex };
    const good = generateApiKey(format);
    expect(keyFormatProblem(good, format)).toBeUndefined();
    const problems = [
      keyFormatProblem(`xx_${good.slice(3)}`, format),
      keyFormatProblem(`${good}a`, format),
      keyFormatProblem(`${good.slice(0, -1)}Z`, format),
      keyFormatProblem(42, format),
    ];
    for (const problem of problems) {
      expect(problem).toBeDefined();
      expect(problem).not.toContain(good.slice(3));
    }
  });
});

describe('response paths', () => {
  it('reads dotted and indexed paths', () => {
    const body = { data: { items: [{ id: 'a' }, { id: 'b' }], key: 'k' } };
    expect(readJsonPath(body, 'data.key')).toBe('k');
    expect(readJsonPath(body, 'data.items[1].id')).toBe('b');
    expect(readJsonPath(body, 'data.items.0.id')).toBe('a');
    expect(readJsonPath(body, 'data.missing.id')).toBeUndefined();
    expect(readJsonPath(body, '$')).toBe(body);
  });

  it('accepts only the simple grammar', () => {
    expect(isValidJsonPath('data.key')).toBe(true);
    expect(isValidJsonPath('items[0].id')).toBe(true);
    expect(isValidJsonPath('$..key')).toBe(false);
    expect(isValidJsonPath('data key')).toBe(false);
    expect(isValidJsonPath(3)).toBe(false);
  });
});
