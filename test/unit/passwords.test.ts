import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../shared/errors.js';
import {
  AWS_DEFAULT_PASSWORD_POLICY,
  characterClasses,
  generateLocalPassword,
  passwordPolicyFromEnv,
} from '../../shared/secrets/passwords.js';

describe('password policy from the environment (AWS rotation functions contract)', () => {
  it('defaults to length 32, excluding /@"\'\\, every type required', () => {
    expect(passwordPolicyFromEnv({})).toEqual(AWS_DEFAULT_PASSWORD_POLICY);
  });

  it('uses the strategy default exclusions when EXCLUDE_CHARACTERS is unset, and the env when set', () => {
    expect(passwordPolicyFromEnv({}, { excludeCharacters: ':/@"\'\\' }).excludeCharacters).toBe(
      ':/@"\'\\',
    );
    expect(
      passwordPolicyFromEnv({ EXCLUDE_CHARACTERS: '%' }, { excludeCharacters: ':' })
        .excludeCharacters,
    ).toBe('%');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['y', true],
    ['YES', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads boolean %s as %s', (raw, expected) => {
    expect(passwordPolicyFromEnv({ EXCLUDE_NUMBERS: raw }).excludeNumbers).toBe(expected);
  });

  it.each([
    [{ PASSWORD_LENGTH: '0' }, 'PASSWORD_LENGTH'],
    [{ PASSWORD_LENGTH: '4097' }, 'PASSWORD_LENGTH'],
    [{ PASSWORD_LENGTH: 'twelve' }, 'PASSWORD_LENGTH'],
    [{ PASSWORD_LENGTH: '3' }, 'PASSWORD_LENGTH'],
    [{ EXCLUDE_NUMBERS: 'maybe' }, 'EXCLUDE_NUMBERS'],
    [
      {
        EXCLUDE_UPPERCASE: 'true',
        EXCLUDE_LOWERCASE: 'true',
        EXCLUDE_NUMBERS: 'true',
        EXCLUDE_PUNCTUATION: 'true',
      },
      'EXCLUDE_CHARACTERS',
    ],
    [
      {
        EXCLUDE_UPPERCASE: 'true',
        EXCLUDE_LOWERCASE: 'true',
        EXCLUDE_PUNCTUATION: 'true',
        EXCLUDE_CHARACTERS: '0123456789',
      },
      'EXCLUDE_CHARACTERS',
    ],
  ])('refuses an unsatisfiable or malformed policy %j at start-up, naming %s', (env, field) => {
    const attempt = () => passwordPolicyFromEnv(env);
    expect(attempt).toThrow(ConfigurationError);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigurationError).field).toBe(field);
    }
  });

  it('accepts length 3 when only three types remain', () => {
    expect(passwordPolicyFromEnv({ PASSWORD_LENGTH: '3', EXCLUDE_PUNCTUATION: 'yes' }).length).toBe(
      3,
    );
  });
});

describe('local password generation', () => {
  it('honours length, exclusions and every-type requirement over many draws', () => {
    const policy = passwordPolicyFromEnv({
      PASSWORD_LENGTH: '12',
      EXCLUDE_CHARACTERS: 'abcXYZ019!',
    });
    const classes = characterClasses(policy);
    for (let i = 0; i < 500; i++) {
      const password = generateLocalPassword(policy);
      expect(password).toHaveLength(12);
      // EXCLUDE_CHARACTERS replaces the default set, as in AWS's functions.
      expect(password).not.toMatch(/[abcXYZ019! ]/);
      for (const cls of classes) expect([...password].some((c) => cls.includes(c))).toBe(true);
    }
  });

  it('draws every allowed character (no bias that drops part of the alphabet)', () => {
    const policy = passwordPolicyFromEnv({ PASSWORD_LENGTH: '64', EXCLUDE_PUNCTUATION: 'true' });
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of generateLocalPassword(policy)) seen.add(c);
    expect(seen.size).toBe(62);
  });

  it('includes spaces only when asked', () => {
    const policy = { ...AWS_DEFAULT_PASSWORD_POLICY, includeSpace: true, length: 40 };
    expect(characterClasses(policy)).toContain(' ');
    expect(characterClasses(AWS_DEFAULT_PASSWORD_POLICY).join('')).not.toContain(' ');
  });
});
