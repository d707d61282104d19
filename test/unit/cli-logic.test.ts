import { describe, expect, it } from 'vitest';
import { decideUnstick } from '../../cli/commands/unstick.js';
import { createStyle, formatAge, renderTable, shellQuote } from '../../cli/lib/output.js';
import { classifySecret, fieldProblems, passwordPolicyHazards } from '../../cli/lib/strategy.js';
import type { VersionProbe } from '../../cli/lib/versions.js';
import { SecretFormatError } from '../../shared/errors.js';
import { parseTlsSettings, tlsConnectionOptions } from '../../shared/kinds/tls.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';

const fn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

describe('classifySecret', () => {
  it.each([
    [{ engine: 'postgres' }, undefined, 'postgres'],
    [{ engine: 'aurora-postgresql' }, fn('x'), 'postgres'],
    [{ engine: 'MariaDB' }, undefined, 'mysql'],
    [{ engine: 'aurora-mysql' }, undefined, 'mysql'],
    [{}, fn('rotator-postgres'), 'postgres'],
    [{}, fn('prod-mysql'), 'mysql'],
    [{}, fn('rotator-apikey'), 'apikey'],
    [{}, fn('rotator-example'), 'example'],
    [{ apiKey: 'x' }, undefined, 'apikey'],
    [{ engine: 'oracle' }, fn('other'), 'unknown'],
  ] as const)('%j with %s is %s', (json, arn, kind) => {
    expect(classifySecret({ ...json }, arn).kind).toBe(kind);
  });
});

describe('fieldProblems', () => {
  it('names the missing database fields; engine is only a warning for single-user', () => {
    expect(fieldProblems('postgres', { username: 'u', port: 'x' })).toEqual([
      { field: 'host', problem: 'is missing from the AWSCURRENT value', severity: 'error' },
      { field: 'password', problem: 'is missing from the AWSCURRENT value', severity: 'error' },
      { field: 'engine', problem: 'is missing from the AWSCURRENT value', severity: 'warning' },
      {
        field: 'port',
        problem: 'must be a whole number from 1 to 65535 in the AWSCURRENT value',
        severity: 'error',
      },
    ]);
  });

  it('requires engine and masterarn for alternating users', () => {
    const problems = fieldProblems(
      'mysql',
      { host: 'h', username: 'u', password: 'p' },
      { ROTATION_MODE: 'alternating-users' },
    );
    expect(problems.map((p) => [p.field, p.severity])).toEqual([
      ['engine', 'error'],
      ['masterarn', 'error'],
    ]);
  });

  it('checks the API key field, renamed by API_KEY_FIELD', () => {
    expect(fieldProblems('apikey', { apiKey: 'k' })).toEqual([]);
    expect(fieldProblems('apikey', { apiKey: 'k' }, { API_KEY_FIELD: 'token' })).toEqual([
      { field: 'token', problem: 'is missing', severity: 'error' },
    ]);
  });
});

describe('passwordPolicyHazards', () => {
  it('flags what the defaults still allow, and PostgreSQL excludes ":" by default', () => {
    const mysql = passwordPolicyHazards('mysql', undefined);
    expect(mysql.source).toBe('defaults');
    expect(mysql.unsafe).toEqual(expect.arrayContaining([':', '%', ';', '?', '#', '&', '=', '+']));
    expect(mysql.unsafe).not.toContain('@');
    expect(passwordPolicyHazards('postgres', undefined).unsafe).not.toContain(':');
  });

  it('reads the function environment', () => {
    const safe = passwordPolicyHazards('postgres', { EXCLUDE_PUNCTUATION: 'true' });
    expect(safe).toMatchObject({ unsafe: [], source: 'function environment' });
  });
});

describe('decideUnstick', () => {
  const state = { current: 'c'.repeat(32), pending: 'p'.repeat(32) };
  const probe = (
    label: VersionProbe['label'],
    outcome: VersionProbe['outcome'],
    hasValue = true,
  ): VersionProbe => ({
    label,
    versionId: label === 'AWSCURRENT' ? state.current : state.pending,
    hasValue,
    outcome,
  });
  const remove = [{ action: 'remove-pending', versionId: state.pending }];

  it.each([
    [
      'pending has no value',
      'postgres',
      [probe('AWSCURRENT', 'accepted'), probe('AWSPENDING', 'no-value', false)],
      remove,
      true,
    ],
    [
      'current works',
      'postgres',
      [probe('AWSCURRENT', 'accepted'), probe('AWSPENDING', 'rejected')],
      remove,
      true,
    ],
    [
      'both work (alternating users)',
      'mysql',
      [probe('AWSCURRENT', 'accepted'), probe('AWSPENDING', 'accepted')],
      remove,
      true,
    ],
    [
      'only pending works',
      'postgres',
      [probe('AWSCURRENT', 'rejected'), probe('AWSPENDING', 'accepted')],
      [{ action: 'promote-pending', versionId: state.pending, fromVersionId: state.current }],
      true,
    ],
    [
      'neither works',
      'postgres',
      [probe('AWSCURRENT', 'rejected'), probe('AWSPENDING', 'rejected')],
      [],
      false,
    ],
    [
      'unreachable',
      'mysql',
      [probe('AWSCURRENT', 'unreachable'), probe('AWSPENDING', 'unreachable')],
      [],
      false,
    ],
    [
      'API key (cannot probe)',
      'apikey',
      [probe('AWSCURRENT', 'unknown'), probe('AWSPENDING', 'unknown')],
      remove,
      true,
    ],
  ] as const)('%s', (_name, kind, probes, steps, decided) => {
    const decision = decideUnstick(state, kind, [...probes]);
    expect(decision.steps).toEqual(steps);
    expect(decision.decided).toBe(decided);
    expect(decision.reason.length).toBeGreaterThan(20);
  });
});

describe("a database kind's target (what doctor reaches and checks TLS on)", () => {
  it('maps AWS ssl flags and our sslMode to the TLS mode, and defaults the port', () => {
    const base = { host: 'db', username: 'u', password: 'p' };
    expect(postgresKind.target?.(base, {})).toMatchObject({
      port: 5432,
      tls: { mode: 'verify-full' },
    });
    expect(mysqlKind.target?.({ ...base, ssl: false }, {})).toMatchObject({
      port: 3306,
      tls: { mode: 'disable' },
    });
    expect(mysqlKind.target?.({ ...base, ssl: 'true', port: '3307' }, {})).toMatchObject({
      port: 3307,
      tls: { mode: 'verify-full' },
    });
    expect(
      postgresKind.target?.({ ...base, sslMode: 'require' }, { DEFAULT_SSL_MODE: 'disable' }),
    ).toMatchObject({ tls: { mode: 'require' } });
    expect(postgresKind.target?.({ ...base }, { DEFAULT_SSL_MODE: 'disable' })).toMatchObject({
      tls: { mode: 'disable' },
    });
    expect(postgresKind.target?.({ username: 'u' }, {})).toBeUndefined();
  });

  // doctor must refuse what testSecret refuses, naming the same field.
  it.each([
    [{ ssl: false, sslMode: 'verify-full' }, 'sslMode'],
    [{ ssl: 'true', sslMode: 'disable' }, 'sslMode'],
    [{ ssl: 'yes' }, 'ssl'],
    [{ sslMode: 'prefer' }, 'sslMode'],
    [{ sslCa: 'relative/ca.pem' }, 'sslCa'],
  ])('refuses %j as the rotation functions do, naming %s', async (fields, field) => {
    const json = { host: 'db', username: 'u', password: 'p', ...fields };
    const viaFunction = await (async () => {
      const tls = parseTlsSettings(json);
      await tlsConnectionOptions(tls, 'db');
    })().catch((e: unknown) => e);
    expect(viaFunction).toBeInstanceOf(SecretFormatError);
    expect((viaFunction as SecretFormatError).field).toBe(field);
    const viaCli = (() => {
      try {
        postgresKind.target?.(json, {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(viaCli).toBeInstanceOf(SecretFormatError);
    expect((viaCli as SecretFormatError).field).toBe(field);
  });
});

describe('output helpers', () => {
  it('pads table columns by visible width, colour or not', () => {
    const style = createStyle(true);
    const lines = renderTable(
      ['A', 'BB', 'C'],
      [[style.red('x'), 'y', 'last column not padded']],
      style,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI codes.
    const plain = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(plain).toEqual(['A  BB  C', 'x  y   last column not padded']);
  });

  it('quotes shell arguments only when needed, and formats ages', () => {
    expect(shellQuote('prod/db-1')).toBe('prod/db-1');
    expect(shellQuote('ExcludeCharacters=/@"\'\\')).toBe(`'ExcludeCharacters=/@"'\\''\\'`);
    expect([
      formatAge(5_000),
      formatAge(125_000),
      formatAge(3 * 3_600_000 + 60_000),
      formatAge(50 * 3_600_000),
    ]).toEqual(['5s', '2m', '3h 1m', '2d 2h']);
  });
});
