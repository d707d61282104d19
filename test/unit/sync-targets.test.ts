import { describe, expect, it } from 'vitest';
import { SecretFormatError } from '../../shared/errors.js';
import { envValueOf, jsonFieldOf, withEnvValue, withJsonField } from '../../shared/sync/formats.js';
import { parseSyncTargets, SyncTargetError, targetValue } from '../../shared/sync/targets.js';
import { randomPassword } from '../helpers/credentials.js';

const tags = (entries: Record<string, string>) => new Map(Object.entries(entries));

function parseError(entries: Record<string, string>): SyncTargetError {
  try {
    parseSyncTargets(tags(entries));
  } catch (error) {
    expect(error).toBeInstanceOf(SyncTargetError);
    return error as SyncTargetError;
  }
  throw new Error('expected a SyncTargetError');
}

describe('parseSyncTargets', () => {
  it('reads Parameter Store and S3 targets from tags, in tag-key order, and ignores other tags', () => {
    const targets = parseSyncTargets(
      tags({
        team: 'payments',
        'rotator:sync:ssm:1': 'name=/acme/serviceA/db-password field=password key=alias/acme',
        'rotator:sync:s3:cfg':
          'bucket=acme-config key=config/app.json format=json pointer=/db/password kms=alias/acme',
        'rotator:sync:s3:env': 'bucket=acme-config key=app.env format=env var=DB_PASSWORD kms=k1',
        'rotator:sync:ssm:whole': 'name=/acme/serviceA/secret',
      }),
    );
    expect(targets).toEqual([
      {
        type: 's3',
        tag: 'rotator:sync:s3:cfg',
        bucket: 'acme-config',
        key: 'config/app.json',
        format: 'json',
        pointer: '/db/password',
        variable: undefined,
        field: undefined,
        kmsKeyId: 'alias/acme',
      },
      {
        type: 's3',
        tag: 'rotator:sync:s3:env',
        bucket: 'acme-config',
        key: 'app.env',
        format: 'env',
        pointer: undefined,
        variable: 'DB_PASSWORD',
        field: undefined,
        kmsKeyId: 'k1',
      },
      {
        type: 'ssm',
        tag: 'rotator:sync:ssm:1',
        name: '/acme/serviceA/db-password',
        field: 'password',
        kmsKeyId: 'alias/acme',
      },
      {
        type: 'ssm',
        tag: 'rotator:sync:ssm:whole',
        name: '/acme/serviceA/secret',
        field: undefined,
        kmsKeyId: undefined,
      },
    ]);
  });

  it('finds no targets on a secret without sync tags', () => {
    expect(parseSyncTargets(tags({ team: 'x', 'rotator:other': 'y' }))).toEqual([]);
  });

  it.each([
    [{ 'rotator:sync:sqs:1': 'name=/a' }, 'rotator:sync:sqs:1', ''],
    [{ 'rotator:sync:ssm': 'name=/a' }, 'rotator:sync:ssm', ''],
    [{ 'rotator:sync:ssm:a:b': 'name=/a' }, 'rotator:sync:ssm:a:b', ''],
    [{ 'rotator:sync:ssm:1': 'field=password' }, 'rotator:sync:ssm:1', 'name'],
    [{ 'rotator:sync:ssm:1': 'name=/a colour=red' }, 'rotator:sync:ssm:1', 'colour'],
    [{ 'rotator:sync:ssm:1': 'name=/a name=/b' }, 'rotator:sync:ssm:1', 'name'],
    [{ 'rotator:sync:ssm:1': 'name=/aws/x' }, 'rotator:sync:ssm:1', 'name'],
    [{ 'rotator:sync:ssm:1': 'name=/a nonsense' }, 'rotator:sync:ssm:1', ''],
    [
      { 'rotator:sync:s3:1': 'bucket=b key=k format=json pointer=/p kms=k' },
      'rotator:sync:s3:1',
      'bucket',
    ],
    [{ 'rotator:sync:s3:1': 'bucket=bkt key=k format=json kms=k' }, 'rotator:sync:s3:1', 'pointer'],
    [{ 'rotator:sync:s3:1': 'bucket=bkt key=k format=yaml kms=k' }, 'rotator:sync:s3:1', 'format'],
    [{ 'rotator:sync:s3:1': 'bucket=bkt key=k format=env kms=k' }, 'rotator:sync:s3:1', 'var'],
    [
      { 'rotator:sync:s3:1': 'bucket=bkt key=k format=env var=1X kms=k' },
      'rotator:sync:s3:1',
      'var',
    ],
    [
      { 'rotator:sync:s3:1': 'bucket=bkt key=k format=json pointer=/a' },
      'rotator:sync:s3:1',
      'kms',
    ],
    [
      { 'rotator:sync:s3:1': 'bucket=bkt key=k format=json pointer=a/b kms=k' },
      'rotator:sync:s3:1',
      'pointer',
    ],
    [
      { 'rotator:sync:s3:1': 'bucket=bkt key=k format=envelope pointer=/a kms=k' },
      'rotator:sync:s3:1',
      'pointer',
    ],
  ])('refuses %j naming tag %s and setting "%s"', (entries, tag, field) => {
    const error = parseError(entries);
    expect(error.tag).toBe(tag);
    expect(error.field).toBe(field);
    expect(error.message).toContain(tag);
  });

  it('refuses two tags writing the same place, and an envelope sharing its object', () => {
    expect(
      parseError({
        'rotator:sync:ssm:1': 'name=/acme/db',
        'rotator:sync:ssm:2': 'name=/acme/db field=password',
      }).message,
    ).toContain('rotator:sync:ssm:1');
    expect(
      parseError({
        'rotator:sync:s3:1': 'bucket=bkt key=app.json format=envelope kms=k',
        'rotator:sync:s3:2': 'bucket=bkt key=app.json format=json pointer=/p kms=k',
      }).field,
    ).toBe('key');
  });

  it('allows two fields of one JSON document', () => {
    expect(
      parseSyncTargets(
        tags({
          'rotator:sync:s3:1':
            'bucket=bkt key=app.json format=json pointer=/db/user field=username kms=k',
          'rotator:sync:s3:2':
            'bucket=bkt key=app.json format=json pointer=/db/password field=password kms=k',
        }),
      ),
    ).toHaveLength(2);
  });
});

describe('targetValue', () => {
  const [target] = parseSyncTargets(tags({ 'rotator:sync:ssm:1': 'name=/a field=password' }));
  const [whole] = parseSyncTargets(tags({ 'rotator:sync:ssm:1': 'name=/a' }));
  if (!target || !whole) throw new Error('expected targets');

  it('copies one field of the JSON secret, or the whole value', () => {
    const password = randomPassword();
    const secret = JSON.stringify({ username: 'app', password, port: 5432 });
    expect(targetValue(target, secret)).toBe(password);
    expect(targetValue(whole, secret)).toBe(secret);
  });

  it('names the field and never the value when it is missing or not text', () => {
    const password = randomPassword();
    for (const secret of [
      JSON.stringify({ username: 'app', pass: password }),
      JSON.stringify({ password: { nested: password } }),
      `not json ${password}`,
    ]) {
      let caught: unknown;
      try {
        targetValue(target, secret);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SecretFormatError);
      expect((caught as SecretFormatError).field).toBe('password');
      expect((caught as Error).message).not.toContain(password);
    }
  });
});

describe('JSON and .env formats', () => {
  it('replaces only the pointed-at field of a JSON document, keeping indentation', () => {
    const text =
      '{\n    "db": {\n        "host": "h",\n        "password": "old"\n    },\n    "feature": true\n}\n';
    const out = withJsonField(text, '/db/password', 'n3w"value');
    expect(JSON.parse(out)).toEqual({ db: { host: 'h', password: 'n3w"value' }, feature: true });
    expect(out).toMatch(/^\{\n {4}"db"/);
    expect(jsonFieldOf(out, '/db/password')).toBe('n3w"value');
    expect(jsonFieldOf(out, '/db/missing')).toBeUndefined();
  });

  it('creates the objects on the way and refuses to pass through a non-object', () => {
    expect(JSON.parse(withJsonField(undefined, '/a/b', 'v'))).toEqual({ a: { b: 'v' } });
    expect(() => withJsonField('{"a": 1}', '/a/b', 'v')).toThrow(/\/a, which is not an object/);
    expect(() => withJsonField('[1]', '/a', 'v')).toThrow(/not a JSON object/);
  });

  it('replaces every assignment of the variable in .env text, keeping comments and others', () => {
    const text = '# app\nexport DB_PASSWORD=old\nDB_HOST=h\nDB_PASSWORD="older"\n';
    const value = 'p a$s"s';
    const out = withEnvValue(text, 'DB_PASSWORD', value);
    expect(out).toBe(
      '# app\nexport DB_PASSWORD="p a\\$s\\"s"\nDB_HOST=h\nDB_PASSWORD="p a\\$s\\"s"\n',
    );
    expect(envValueOf(out, 'DB_PASSWORD')).toBe(value);
    expect(envValueOf(out, 'DB_HOST')).toBe('h');
  });

  it('appends the variable when the file does not assign it', () => {
    expect(withEnvValue('A=1\n', 'B', 'x')).toBe('A=1\nB=x\n');
    expect(withEnvValue(undefined, 'B', 'x')).toBe('B=x\n');
  });
});
