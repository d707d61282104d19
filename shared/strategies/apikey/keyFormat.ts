import { randomInt } from 'node:crypto';
import { ConfigurationError, SecretFormatError } from '../../errors.js';

/** Named alphabets for self-issued keys; `base62` is the default. */
export const KEY_ALPHABETS = {
  base62: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  // Bitcoin's base58: no 0/O/I/l, for keys people read aloud or retype.
  base58: '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  hex: '0123456789abcdef',
  // Crockford's base32, lower case: case-insensitive systems cannot mangle it.
  base32: '0123456789abcdefghjkmnpqrstvwxyz',
} as const;

/** A named alphabet. */
export type KeyAlphabetName = keyof typeof KEY_ALPHABETS;

/** How a self-issued key looks: `prefix` followed by `length` characters drawn from `alphabet`. */
export interface KeyFormat {
  /** Fixed, non-secret start of every key, e.g. `sk_live_` (lets scanners and humans spot keys). */
  prefix: string;
  /** Number of random characters after the prefix. */
  length: number;
  /** The characters the random part is drawn from (resolved from a name or given literally). */
  alphabet: string;
}

/** The default format: 40 base62 characters (≈238 bits), no prefix. */
export const DEFAULT_KEY_FORMAT: Readonly<KeyFormat> = Object.freeze({
  prefix: '',
  length: 40,
  alphabet: KEY_ALPHABETS.base62,
});

/** Keys weaker than this are refused: 128 bits is the usual floor for bearer secrets. */
export const MIN_KEY_ENTROPY_BITS = 128;
const MAX_LENGTH = 512;
const PREFIX_PATTERN = /^[A-Za-z0-9_.-]{0,32}$/;

/** Raised by the format checks; `field` names the setting (env var or secret JSON path). */
type FieldError = (field: string, problem: string) => Error;

function resolveAlphabet(value: string, field: string, fail: FieldError): string {
  if (value in KEY_ALPHABETS) return KEY_ALPHABETS[value as KeyAlphabetName];
  // A literal alphabet: printable ASCII without spaces or quotes, so keys survive headers,
  // URLs and shell quoting; every character once, or the draw would be biased.
  if (value.length < 16 || value.length > 94) {
    throw fail(
      field,
      `must name an alphabet (${Object.keys(KEY_ALPHABETS).join(', ')}) or list 16 to 94 characters`,
    );
  }
  if (!/^[!#-&(-~]+$/.test(value)) {
    throw fail(field, 'may only contain printable ASCII characters other than space and quotes');
  }
  if (new Set(value).size !== value.length) throw fail(field, 'lists a character twice');
  return value;
}

function resolveFormat(
  raw: { prefix?: unknown; length?: unknown; alphabet?: unknown },
  base: KeyFormat,
  fields: { prefix: string; length: string; alphabet: string },
  fail: FieldError,
): KeyFormat {
  const format = { ...base };
  if (raw.prefix !== undefined) {
    if (typeof raw.prefix !== 'string' || !PREFIX_PATTERN.test(raw.prefix)) {
      throw fail(fields.prefix, 'must be at most 32 characters of A-Z a-z 0-9 _ . -');
    }
    format.prefix = raw.prefix;
  }
  if (raw.length !== undefined) {
    const length =
      typeof raw.length === 'string' && raw.length.trim() !== '' ? Number(raw.length) : raw.length;
    if (
      typeof length !== 'number' ||
      !Number.isInteger(length) ||
      length < 1 ||
      length > MAX_LENGTH
    ) {
      throw fail(fields.length, `must be an integer from 1 to ${MAX_LENGTH}`);
    }
    format.length = length;
  }
  if (raw.alphabet !== undefined) {
    if (typeof raw.alphabet !== 'string') throw fail(fields.alphabet, 'must be a string');
    format.alphabet = resolveAlphabet(raw.alphabet, fields.alphabet, fail);
  }
  const bits = format.length * Math.log2(format.alphabet.length);
  if (bits < MIN_KEY_ENTROPY_BITS) {
    throw fail(
      fields.length,
      `gives ${Math.floor(bits)} bits of randomness with this alphabet; at least ${MIN_KEY_ENTROPY_BITS} are required`,
    );
  }
  return format;
}

/**
 * The deployment's default key format from `API_KEY_PREFIX`, `API_KEY_LENGTH` and
 * `API_KEY_ALPHABET`. Called at start-up so a bad deployment fails on its first invocation.
 *
 * @throws ConfigurationError naming the variable.
 */
export function keyFormatFromEnv(env: NodeJS.ProcessEnv = process.env): KeyFormat {
  const blankToUndefined = (value: string | undefined) =>
    value === undefined || value === '' ? undefined : value;
  return resolveFormat(
    {
      prefix: blankToUndefined(env.API_KEY_PREFIX),
      length: blankToUndefined(env.API_KEY_LENGTH),
      alphabet: blankToUndefined(env.API_KEY_ALPHABET),
    },
    DEFAULT_KEY_FORMAT,
    { prefix: 'API_KEY_PREFIX', length: 'API_KEY_LENGTH', alphabet: 'API_KEY_ALPHABET' },
    (field, problem) => new ConfigurationError(field, problem),
  );
}

/**
 * The format for one secret: its `keyFormat` object (any of `prefix`, `length`, `alphabet`)
 * over the deployment default.
 *
 * @throws SecretFormatError naming the field, e.g. `keyFormat.length`.
 */
export function keyFormatFromSecret(keyFormat: unknown, base: KeyFormat): KeyFormat {
  if (keyFormat === undefined) return base;
  if (keyFormat === null || typeof keyFormat !== 'object' || Array.isArray(keyFormat)) {
    throw new SecretFormatError(
      'keyFormat',
      'must be an object with prefix, length and/or alphabet',
    );
  }
  return resolveFormat(
    keyFormat as Record<string, unknown>,
    base,
    { prefix: 'keyFormat.prefix', length: 'keyFormat.length', alphabet: 'keyFormat.alphabet' },
    (field, problem) => new SecretFormatError(field, problem),
  );
}

/**
 * A new key: `prefix` + `length` characters, each drawn uniformly from the alphabet with
 * `crypto.randomInt` (a CSPRNG with rejection sampling, so no modulo bias).
 *
 * @example
 * ```ts
 * generateApiKey({ prefix: 'sk_live_', length: 32, alphabet: KEY_ALPHABETS.base62 });
 * ```
 */
export function generateApiKey(format: KeyFormat): string {
  const chars: string[] = [];
  for (let i = 0; i < format.length; i++)
    chars.push(format.alphabet[randomInt(format.alphabet.length)] ?? '');
  return format.prefix + chars.join('');
}

/** Why `key` does not match `format`, or `undefined` when it does. Never quotes the key. */
export function keyFormatProblem(key: unknown, format: KeyFormat): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  if (!key.startsWith(format.prefix)) return `must start with the prefix "${format.prefix}"`;
  const body = key.slice(format.prefix.length);
  if (body.length !== format.length) {
    return `must have ${format.length} characters after the prefix (has ${body.length})`;
  }
  for (const char of body) {
    if (!format.alphabet.includes(char))
      return 'contains a character outside the configured alphabet';
  }
  return undefined;
}
