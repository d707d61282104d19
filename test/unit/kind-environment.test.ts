import { describe, expect, it } from 'vitest';
import { ConfigurationError, SecretFormatError } from '../../shared/errors.js';
import { connectTimeoutFromEnv } from '../../shared/kinds/environment.js';
import { parseSecretObject } from '../../shared/secrets/secretJson.js';

describe('connect timeout (every kind)', () => {
  it('reads CONNECT_TIMEOUT_MS, defaulting to 5000', () => {
    expect(connectTimeoutFromEnv({})).toBe(5_000);
    expect(connectTimeoutFromEnv({ CONNECT_TIMEOUT_MS: '2500' })).toBe(2_500);
  });

  it('still accepts the old DB_CONNECT_TIMEOUT_MS name', () => {
    expect(connectTimeoutFromEnv({ DB_CONNECT_TIMEOUT_MS: '1500' })).toBe(1_500);
  });

  it('refuses both names with different values, naming both', () => {
    expect(() =>
      connectTimeoutFromEnv({ CONNECT_TIMEOUT_MS: '1000', DB_CONNECT_TIMEOUT_MS: '2000' }),
    ).toThrow(/CONNECT_TIMEOUT_MS.*DB_CONNECT_TIMEOUT_MS/);
    expect(
      connectTimeoutFromEnv({ CONNECT_TIMEOUT_MS: '1000', DB_CONNECT_TIMEOUT_MS: '1000' }),
    ).toBe(1_000);
  });

  it.each([
    [{ CONNECT_TIMEOUT_MS: '5s' }, 'CONNECT_TIMEOUT_MS'],
    [{ CONNECT_TIMEOUT_MS: '99' }, 'CONNECT_TIMEOUT_MS'],
    [{ DB_CONNECT_TIMEOUT_MS: '60001' }, 'DB_CONNECT_TIMEOUT_MS'],
  ])('refuses %j naming %s', (env, field) => {
    const error = (() => {
      try {
        connectTimeoutFromEnv(env);
      } catch (e) {
        return e;
      }
      throw new Error('expected a throw');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toContain(field);
  });
});

describe('parseSecretObject (shared/secrets)', () => {
  it('parses a JSON object and names the field for anything else', () => {
    expect(parseSecretObject('{"a":1}')).toEqual({ a: 1 });
    for (const bad of ['[1]', 'null', '"s"', '{not json'])
      expect(() => parseSecretObject(bad, 'masterarn')).toThrow(SecretFormatError);
    expect(() => parseSecretObject('[1]', 'masterarn')).toThrow(/masterarn/);
  });
});
