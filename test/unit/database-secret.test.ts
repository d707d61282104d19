import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, SecretFormatError } from '../../shared/errors.js';
import {
  defaultSslModeFromEnv,
  parseTlsSettings,
  tlsConnectionOptions,
} from '../../shared/kinds/tls.js';
import { alternateUsername, type UsernameLimit } from '../../shared/kinds/usernames.js';
import { adminLoginFor } from '../../shared/strategies/database/adminSecrets.js';
import { UsernameLengthError } from '../../shared/strategies/database/errors.js';
import { parseDatabaseSecret, withLogin } from '../../shared/strategies/database/secret.js';
import { mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { randomPassword } from '../helpers/credentials.js';

const PG = {
  engines: ['postgres', 'aurora-postgresql'],
  defaultEngine: 'postgres',
  defaultPort: 5432,
  defaultDbname: 'postgres',
};
const MYSQL = {
  engines: ['mysql', 'aurora-mysql', 'mariadb'],
  defaultEngine: 'mysql',
  defaultPort: 3306,
};

function secret(fields: Record<string, unknown>): string {
  return JSON.stringify({
    host: 'db.example',
    username: 'app',
    password: randomPassword(),
    ...fields,
  });
}

/** The error thrown by `fn`, for assertions on its class and message. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('parseDatabaseSecret', () => {
  it('applies AWS defaults: port 5432 and dbname postgres for PostgreSQL, 3306 and no dbname for MySQL', () => {
    const pg = parseDatabaseSecret(secret({}), PG);
    expect(pg).toMatchObject({
      engine: 'postgres',
      port: 5432,
      dbname: 'postgres',
      host: 'db.example',
    });
    const my = parseDatabaseSecret(secret({}), MYSQL);
    expect(my).toMatchObject({ engine: 'mysql', port: 3306, dbname: undefined });
  });

  it.each([[5433], ['5433'], [' 5433 ']])('accepts port %j as number or string', (port) => {
    expect(parseDatabaseSecret(secret({ port }), PG).port).toBe(5433);
  });

  it.each([[0], [70000], ['54x'], [5432.5], [true]])('rejects port %j naming the field', (port) => {
    const error = thrown(() => parseDatabaseSecret(secret({ port }), PG));
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe('port');
  });

  it.each(['host', 'username', 'password'])(
    'names a missing %s without echoing any value',
    (field) => {
      const value = JSON.parse(secret({})) as Record<string, unknown>;
      const password = value.password as string;
      delete value[field];
      const error = thrown(() => parseDatabaseSecret(JSON.stringify(value), PG, 'AWSPENDING'));
      expect(error).toBeInstanceOf(SecretFormatError);
      expect((error as SecretFormatError).field).toBe(field);
      expect(error.message).toContain('AWSPENDING');
      expect(error.message).not.toContain(password);
    },
  );

  it('rejects a malformed password without echoing it', () => {
    const error = thrown(() => parseDatabaseSecret(secret({ password: 12345678 }), PG));
    expect((error as SecretFormatError).field).toBe('password');
    expect(error.message).not.toContain('12345678');
  });

  it.each(['username', 'password'])(
    'rejects a NUL character in %s as a SecretFormatError naming the field, never the value',
    (field) => {
      const value = `${randomPassword()}\u0000${randomPassword()}`;
      const error = thrown(() => parseDatabaseSecret(secret({ [field]: value }), PG));
      expect(error).toBeInstanceOf(SecretFormatError);
      expect((error as SecretFormatError).field).toBe(field);
      expect(error.message).not.toContain(value.slice(0, 8));
    },
  );

  it('accepts every AWS engine value of the function and rejects others', () => {
    for (const engine of PG.engines)
      expect(parseDatabaseSecret(secret({ engine }), PG).engine).toBe(engine);
    const error = thrown(() => parseDatabaseSecret(secret({ engine: 'mysql' }), PG));
    expect((error as SecretFormatError).field).toBe('engine');
  });

  it('requires engine and masterarn in alternating-users mode', () => {
    const required = { ...PG, requireEngine: true, requireMasterArn: true };
    expect(
      (
        thrown(() =>
          parseDatabaseSecret(secret({ masterarn: 'arn:x' }), required),
        ) as SecretFormatError
      ).field,
    ).toBe('engine');
    expect(
      (
        thrown(() =>
          parseDatabaseSecret(secret({ engine: 'postgres' }), required),
        ) as SecretFormatError
      ).field,
    ).toBe('masterarn');
    expect(
      parseDatabaseSecret(secret({ engine: 'postgres', masterarn: 'arn:x' }), required).masterarn,
    ).toBe('arn:x');
  });

  it('rejects a SecretString that is not a JSON object', () => {
    expect(thrown(() => parseDatabaseSecret('not json', PG))).toBeInstanceOf(SecretFormatError);
    expect(thrown(() => parseDatabaseSecret('[1]', PG))).toBeInstanceOf(SecretFormatError);
  });

  it('withLogin keeps every other field, known or unknown, untouched', () => {
    const newPassword = randomPassword();
    const parsed = parseDatabaseSecret(
      secret({
        engine: 'postgres',
        port: '6543',
        custom: { nested: [1, 'two'] },
        ssl: 'true',
        masterarn: 'arn:m',
      }),
      PG,
    );
    const next = JSON.parse(
      withLogin(parsed, { username: 'app_clone', password: newPassword }),
    ) as Record<string, unknown>;
    expect(next).toEqual({ ...parsed.fields, username: 'app_clone', password: newPassword });
    expect(next.port).toBe('6543');
  });
});

describe('TLS settings', () => {
  it.each([
    [{}, 'verify-full'],
    [{ ssl: true }, 'verify-full'],
    [{ ssl: 'TRUE' }, 'verify-full'],
    [{ ssl: false }, 'disable'],
    [{ ssl: 'false' }, 'disable'],
    [{ sslMode: 'require' }, 'require'],
    [{ ssl: true, sslMode: 'require' }, 'require'],
    [{ ssl: 'false', sslMode: 'disable' }, 'disable'],
  ])('%j → %s', (fields, mode) => {
    expect(parseTlsSettings(fields).mode).toBe(mode);
  });

  it('uses the deployment default when the secret says nothing', () => {
    expect(parseTlsSettings({}, 'require').mode).toBe('require');
    expect(parseTlsSettings({ ssl: false }, 'require').mode).toBe('disable');
  });

  it.each([
    [{ ssl: 'maybe' }, 'ssl'],
    [{ ssl: 1 }, 'ssl'],
    [{ sslMode: 'prefer' }, 'sslMode'],
    [{ sslMode: 'allow' }, 'sslMode'],
    [{ ssl: false, sslMode: 'require' }, 'sslMode'],
    [{ ssl: true, sslMode: 'disable' }, 'sslMode'],
    [{ sslCa: 'relative/path.pem' }, 'sslCa'],
  ])('refuses %j (no guessing, no fallback modes)', (fields, field) => {
    const error = thrown(() => parseTlsSettings(fields));
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe(field);
  });

  it('DEFAULT_SSL_MODE is validated at start-up', () => {
    expect(defaultSslModeFromEnv({})).toBe('verify-full');
    expect(defaultSslModeFromEnv({ DEFAULT_SSL_MODE: 'require' })).toBe('require');
    expect(() => defaultSslModeFromEnv({ DEFAULT_SSL_MODE: 'prefer' })).toThrow(ConfigurationError);
  });

  it('builds Node TLS options: none for disable, unverified for require, verified with CA and SNI for verify-full', async () => {
    expect(await tlsConnectionOptions({ mode: 'disable' }, 'db.example')).toBeUndefined();
    expect(await tlsConnectionOptions({ mode: 'require' }, 'db.example')).toEqual({
      rejectUnauthorized: false,
    });
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(await tlsConnectionOptions({ mode: 'verify-full', ca: pem }, 'db.example')).toEqual({
      rejectUnauthorized: true,
      servername: 'db.example',
      ca: pem,
    });
    // No SNI for an IP address (RFC 6066); the identity check still uses the host.
    expect(await tlsConnectionOptions({ mode: 'verify-full' }, '10.0.0.1')).toEqual({
      rejectUnauthorized: true,
    });
  });

  it('reads a CA bundle path, and names sslCa when the file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rotator-ca-'));
    try {
      const path = join(dir, 'ca.pem');
      await writeFile(path, 'PEM');
      expect(await tlsConnectionOptions({ mode: 'verify-full', ca: path }, 'db')).toMatchObject({
        ca: 'PEM',
      });
      const error = await tlsConnectionOptions(
        { mode: 'verify-full', ca: join(dir, 'missing.pem') },
        'db',
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretFormatError);
      expect((error as SecretFormatError).field).toBe('sslCa');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('alternate usernames', () => {
  const chars = { max: 16, unit: 'characters' as const };
  it('toggles the _clone suffix', () => {
    expect(alternateUsername('app', chars)).toBe('app_clone');
    expect(alternateUsername('app_clone', chars)).toBe('app');
  });

  it('refuses, naming username, a 4-byte UTF-8 character the MySQL/MariaDB dialects cannot hold (utf8mb3 user names)', () => {
    const mysqlUsernames = mysqlDialects().byEngine.mariadb?.usernameLimit;
    expect(mysqlUsernames).toBeDefined();
    const error = thrown(() => alternateUsername('app\u{1F600}', mysqlUsernames as UsernameLimit));
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe('username');
    // PostgreSQL names are UTF-8 throughout: the same name is fine there.
    expect(alternateUsername('app\u{1F600}', { max: 63, unit: 'bytes' })).toBe(
      'app\u{1F600}_clone',
    );
  });

  it('enforces the limit in characters (MySQL/MariaDB) or bytes (PostgreSQL)', () => {
    expect(alternateUsername('a'.repeat(10), chars)).toBe(`${'a'.repeat(10)}_clone`);
    expect(() => alternateUsername('a'.repeat(11), chars)).toThrow(UsernameLengthError);
    // 10 two-byte letters: 16 characters but 26 bytes with the suffix.
    expect(alternateUsername('é'.repeat(10), chars)).toBe(`${'é'.repeat(10)}_clone`);
    expect(() => alternateUsername('é'.repeat(10), { max: 16, unit: 'bytes' })).toThrow(
      UsernameLengthError,
    );
    expect(() => alternateUsername('a'.repeat(58), { max: 63, unit: 'bytes' })).toThrow(/63 bytes/);
  });
});

describe('admin login from masterarn', () => {
  const rotated = parseDatabaseSecret(
    secret({
      engine: 'postgres',
      port: 6000,
      dbname: 'appdb',
      sslMode: 'require',
      masterarn: 'arn:m',
    }),
    PG,
  );

  it('takes username/password from the admin secret and the rest from the rotated secret (RDS-managed master secrets)', () => {
    const password = randomPassword();
    const login = adminLoginFor(JSON.stringify({ username: 'root', password }), rotated);
    expect(login).toEqual({
      host: 'db.example',
      port: 6000,
      username: 'root',
      password,
      dbname: 'appdb',
      tls: { mode: 'require' },
    });
  });

  it('uses the admin secret own port and TLS fields when present', () => {
    const login = adminLoginFor(
      JSON.stringify({ username: 'root', password: randomPassword(), port: '6001', ssl: true }),
      rotated,
    );
    expect(login.port).toBe(6001);
    expect(login.tls.mode).toBe('verify-full');
  });

  it('refuses an admin secret for another host, and missing fields, naming them', () => {
    expect(
      (
        thrown(() =>
          adminLoginFor(
            JSON.stringify({ username: 'r', password: randomPassword(), host: 'other' }),
            rotated,
          ),
        ) as SecretFormatError
      ).field,
    ).toBe('host');
    expect(
      (thrown(() => adminLoginFor(JSON.stringify({ username: 'r' }), rotated)) as SecretFormatError)
        .field,
    ).toBe('password');
    const nul = `${randomPassword()}\u0000`;
    const error = thrown(() =>
      adminLoginFor(JSON.stringify({ username: 'r', password: nul }), rotated),
    );
    expect((error as SecretFormatError).field).toBe('password');
    expect(error.message).not.toContain(nul.slice(0, 8));
  });
});
