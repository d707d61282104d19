import { describe, expect, it } from 'vitest';
import { SecretFormatError } from '../../shared/errors.js';
import { aclPasswordHash, isAclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { adminLoginOf, parseRedisSecret, withLogin } from '../../shared/strategies/redis/secret.js';
import { randomPassword } from '../helpers/credentials.js';

const PASSWORD = randomPassword();

function secret(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ host: 'cache.example', username: 'app', password: PASSWORD, ...fields });
}

/** The SecretFormatError `parse` throws; fails the test if it throws nothing or something else. */
function formatError(parse: () => unknown): SecretFormatError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as Error).message).not.toContain(PASSWORD);
    return error as SecretFormatError;
  }
  throw new Error('expected a SecretFormatError');
}

describe('parseRedisSecret', () => {
  it('reads an AWS-style secret with defaults: engine redis, port 6379, TLS verify-full', () => {
    const parsed = parseRedisSecret(secret());
    expect(parsed).toMatchObject({
      engine: 'redis',
      host: 'cache.example',
      port: 6379,
      username: 'app',
      password: PASSWORD,
      masterarn: undefined,
      tls: { mode: 'verify-full' },
    });
  });

  it('accepts engine "valkey", a port given as a string, and the TLS fields of the databases', () => {
    const parsed = parseRedisSecret(
      secret({ engine: 'valkey', port: '6380', sslMode: 'verify-full', sslCa: '/etc/ca.pem' }),
    );
    expect(parsed).toMatchObject({ engine: 'valkey', port: 6380 });
    expect(parsed.tls).toEqual({ mode: 'verify-full', ca: '/etc/ca.pem' });
    expect(parseRedisSecret(secret({ ssl: false })).tls.mode).toBe('disable');
    expect(parseRedisSecret(secret(), { defaultSslMode: 'require' }).tls.mode).toBe('require');
  });

  it('keeps unknown fields (ElastiCache user_arn) through withLogin', () => {
    const parsed = parseRedisSecret(secret({ user_arn: 'arn:aws:elasticache:r:1:user:app' }));
    const next = JSON.parse(withLogin(parsed, { username: 'app', password: 'n3w' }));
    expect(next).toMatchObject({ user_arn: 'arn:aws:elasticache:r:1:user:app', password: 'n3w' });
  });

  it.each([
    ['host', secret({ host: undefined })],
    ['username', secret({ username: '' })],
    ['password', secret({ password: 42 })],
    ['password', secret({ password: `${PASSWORD}\u0000` })],
    ['username', secret({ username: 'app user' })],
    ['username', secret({ username: 'app\tuser' })],
    ['engine', secret({ engine: 'memcached' })],
    ['port', secret({ port: 0 })],
    ['port', secret({ port: '6379x' })],
    ['ssl', secret({ ssl: 'maybe' })],
    ['sslMode', secret({ ssl: false, sslMode: 'verify-full' })],
    ['sslCa', secret({ sslCa: 'relative/ca.pem' })],
    ['SecretString', 'not json'],
  ])('refuses a bad %s with a SecretFormatError naming it, never the value', (field, value) => {
    expect(formatError(() => parseRedisSecret(value, {}, 'AWSPENDING')).field).toBe(field);
  });

  it('requires masterarn in alternating-users mode', () => {
    const error = formatError(() =>
      parseRedisSecret(secret(), { requireMasterArn: true }, 'AWSCURRENT'),
    );
    expect(error.field).toBe('masterarn');
    expect(error.message).toMatch(/AWSCURRENT/);
  });
});

describe('adminLoginOf', () => {
  const rotated = parseRedisSecret(secret({ port: 6380, sslMode: 'require' }));

  it('takes user and password from the admin secret, host, port and TLS from the rotated one', () => {
    const admin = adminLoginOf(JSON.stringify({ username: 'root', password: 'pw-admin' }), rotated);
    expect(admin).toEqual({
      host: 'cache.example',
      port: 6380,
      username: 'root',
      password: 'pw-admin',
      tls: { mode: 'require' },
    });
  });

  it('uses the admin secret own port and TLS when it has them', () => {
    const admin = adminLoginOf(
      JSON.stringify({ username: 'root', password: 'pw', port: 7000, sslMode: 'disable' }),
      rotated,
    );
    expect(admin).toMatchObject({ port: 7000, tls: { mode: 'disable' } });
  });

  it.each([
    ['password', { username: 'root' }],
    ['username', { password: 'pw' }],
    ['host', { username: 'root', password: 'pw', host: 'elsewhere.example' }],
  ])('refuses an admin secret with a bad %s', (field, admin) => {
    expect(formatError(() => adminLoginOf(JSON.stringify(admin), rotated)).field).toBe(field);
  });
});

describe('aclPasswordHash', () => {
  it('is the SHA-256 of the UTF-8 bytes in lower-case hex, as ACL SETUSER #<hash> expects', () => {
    // Known vectors: `echo -n p1 | sha256sum`, and a non-ASCII password.
    expect(aclPasswordHash('p1')).toBe(
      'f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a',
    );
    expect(aclPasswordHash('pässwörd')).toBe(
      '46970bef70aced8123f0d5d094717e2a5cd412041e03b26376049fe65b2834a4',
    );
    expect(isAclPasswordHash(aclPasswordHash(PASSWORD))).toBe(true);
    expect(isAclPasswordHash(PASSWORD)).toBe(false);
  });
});
