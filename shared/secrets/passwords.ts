import { randomInt } from 'node:crypto';
import { ConfigurationError } from '../errors.js';

/**
 * A password policy, with the same meaning as Secrets Manager's `GetRandomPassword`
 * parameters and the same environment contract as AWS's rotation functions.
 */
export interface PasswordPolicy {
  /** 1–4096; default 32. */
  length: number;
  /** Characters never used. AWS's functions default to `/@"'\` (PostgreSQL adds `:`). */
  excludeCharacters: string;
  excludeNumbers: boolean;
  excludePunctuation: boolean;
  excludeUppercase: boolean;
  excludeLowercase: boolean;
  /** AWS's functions never pass IncludeSpace; kept for GetRandomPassword parity. */
  includeSpace: boolean;
  /** At least one character of every included type. Default true. */
  requireEachIncludedType: boolean;
}

/** The defaults of AWS's reference rotation functions (generic template / MySQL). */
export const AWS_DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  length: 32,
  excludeCharacters: '/@"\'\\',
  excludeNumbers: false,
  excludePunctuation: false,
  excludeUppercase: false,
  excludeLowercase: false,
  includeSpace: false,
  requireEachIncludedType: true,
});

const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const NUMBERS = '0123456789';
/** GetRandomPassword's punctuation set, per the API reference. */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

const TRUE_VALUES = new Set(['true', '1', 'y', 'yes']);
const FALSE_VALUES = new Set(['false', '0', 'n', 'no', '']);

function readBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const value = raw.trim().toLowerCase();
  // AWS's functions treat anything outside {true,1,y,yes} as false; we refuse typos instead
  // of silently weakening or strengthening the policy.
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  throw new ConfigurationError(name, 'must be one of true, false, 1, 0, y, n, yes, no');
}

/**
 * Reads the policy from the environment (`PASSWORD_LENGTH`, `EXCLUDE_CHARACTERS`,
 * `EXCLUDE_NUMBERS`, `EXCLUDE_PUNCTUATION`, `EXCLUDE_UPPERCASE`, `EXCLUDE_LOWERCASE`,
 * `REQUIRE_EACH_INCLUDED_TYPE`) over the strategy's defaults over AWS's defaults, and
 * validates it. Throws {@link ConfigurationError} for a policy no password can satisfy.
 */
export function passwordPolicyFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  strategyDefaults: Partial<PasswordPolicy> = {},
): PasswordPolicy {
  const base: PasswordPolicy = { ...AWS_DEFAULT_PASSWORD_POLICY, ...strategyDefaults };
  let length = base.length;
  const rawLength = env.PASSWORD_LENGTH;
  if (rawLength !== undefined && rawLength.trim() !== '') {
    if (!/^\d+$/.test(rawLength.trim())) {
      throw new ConfigurationError('PASSWORD_LENGTH', 'must be a whole number between 1 and 4096');
    }
    length = Number(rawLength.trim());
  }
  const policy: PasswordPolicy = {
    length,
    excludeCharacters: env.EXCLUDE_CHARACTERS ?? base.excludeCharacters,
    excludeNumbers: readBoolean(env, 'EXCLUDE_NUMBERS', base.excludeNumbers),
    excludePunctuation: readBoolean(env, 'EXCLUDE_PUNCTUATION', base.excludePunctuation),
    excludeUppercase: readBoolean(env, 'EXCLUDE_UPPERCASE', base.excludeUppercase),
    excludeLowercase: readBoolean(env, 'EXCLUDE_LOWERCASE', base.excludeLowercase),
    includeSpace: base.includeSpace,
    requireEachIncludedType: readBoolean(
      env,
      'REQUIRE_EACH_INCLUDED_TYPE',
      base.requireEachIncludedType,
    ),
  };
  validatePasswordPolicy(policy);
  return policy;
}

/** The character classes a policy draws from, after exclusions; empty classes dropped. */
export function characterClasses(policy: PasswordPolicy): string[] {
  const excluded = new Set(policy.excludeCharacters);
  const keep = (chars: string) => [...chars].filter((c) => !excluded.has(c)).join('');
  const classes: string[] = [];
  if (!policy.excludeUppercase) classes.push(keep(UPPERCASE));
  if (!policy.excludeLowercase) classes.push(keep(LOWERCASE));
  if (!policy.excludeNumbers) classes.push(keep(NUMBERS));
  if (!policy.excludePunctuation) classes.push(keep(PUNCTUATION));
  if (policy.includeSpace) classes.push(keep(' '));
  return classes.filter((c) => c.length > 0);
}

/**
 * Throws {@link ConfigurationError} naming the setting when no password can satisfy the
 * policy: bad length, every character excluded, or more required types than characters.
 */
export function validatePasswordPolicy(policy: PasswordPolicy): void {
  if (!Number.isInteger(policy.length) || policy.length < 1 || policy.length > 4096) {
    throw new ConfigurationError('PASSWORD_LENGTH', 'must be a whole number between 1 and 4096');
  }
  if (policy.excludeCharacters.length > 4096) {
    throw new ConfigurationError('EXCLUDE_CHARACTERS', 'must be at most 4096 characters');
  }
  const classes = characterClasses(policy);
  if (classes.length === 0) {
    throw new ConfigurationError(
      'EXCLUDE_CHARACTERS',
      'together with the EXCLUDE_* settings leaves no character to build a password from',
    );
  }
  if (policy.requireEachIncludedType && classes.length > policy.length) {
    throw new ConfigurationError(
      'PASSWORD_LENGTH',
      `is ${policy.length}, shorter than the ${classes.length} character types REQUIRE_EACH_INCLUDED_TYPE demands`,
    );
  }
}

/**
 * Generates a password from the local CSPRNG (`crypto.randomInt`, uniform, no modulo bias)
 * under exactly the policy `GetRandomPassword` would apply. Saves one API call per rotation.
 */
export function generateLocalPassword(policy: PasswordPolicy): string {
  const classes = characterClasses(policy);
  const alphabet = classes.join('');
  const chars: string[] = [];
  if (policy.requireEachIncludedType) {
    for (const cls of classes) chars.push(cls[randomInt(cls.length)] as string);
  }
  while (chars.length < policy.length) chars.push(alphabet[randomInt(alphabet.length)] as string);
  // Fisher–Yates so the required characters are not always at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
