import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  InvalidKeyId,
  LabelParameterVersionCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionLabelLimitExceeded,
  ParameterVersionNotFound,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { localAwsClients } from '../helpers/localAws.js';
import {
  randomValue,
  useLocalSecretsManager,
  useTempDirs,
} from '../helpers/localSecretsManager.js';

const tempDir = useTempDirs('rotator-ssm-');
const start = useLocalSecretsManager();
const root = () => `/test-${randomBytes(6).toString('hex')}`;

async function put(
  ssm: SSMClient,
  Name: string,
  Value: string,
  extra: Record<string, unknown> = {},
) {
  return ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', ...extra }));
}

describe('local Parameter Store through the AWS SDK v3 (same endpoint as Secrets Manager)', () => {
  it('PutParameter creates version 1, refuses a second put without Overwrite (ParameterAlreadyExists) and increments with it', async () => {
    // Prepare
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `${root()}/db-password`;
    // Act
    const first = await put(ssm, name, randomValue());
    const refused = await put(ssm, name, randomValue()).catch((error: unknown) => error);
    const value = randomValue();
    const second = await put(ssm, name, value, { Overwrite: true });
    // Assess
    expect(first).toMatchObject({ Version: 1, Tier: 'Standard' });
    expect(refused).toBeInstanceOf(ParameterAlreadyExists);
    expect(second.Version).toBe(2);
    const got = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(got.Parameter).toMatchObject({
      Name: name,
      Type: 'String',
      Value: value,
      Version: 2,
      DataType: 'text',
      ARN: `arn:aws:ssm:${twin.region}:${twin.accountId}:parameter${name}`,
    });
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it('stores a SecureString encrypted under alias/aws/ssm by default and decrypts it only WithDecryption', async () => {
    // Prepare
    const twin = await start();
    const { ssm, kms } = localAwsClients(twin);
    const name = `${root()}/secure`;
    const secret = randomValue();
    // Act
    await ssm.send(new PutParameterCommand({ Name: name, Value: secret, Type: 'SecureString' }));
    const plain = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const hidden = await ssm.send(new GetParameterCommand({ Name: name }));
    // Assess
    expect(plain.Parameter).toMatchObject({ Type: 'SecureString', Value: secret });
    expect(hidden.Parameter?.Value).not.toContain(secret);
    expect(hidden.Parameter?.Value).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const managed = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ssm' }));
    expect(managed.KeyMetadata?.KeyManager).toBe('AWS');
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: name }));
    expect(history.Parameters?.[0]?.KeyId).toBe('alias/aws/ssm');
  });

  it('encrypts a SecureString with the KeyId given (alias) and refuses an unknown key with InvalidKeyId', async () => {
    const twin = await start();
    const { ssm, kms } = localAwsClients(twin);
    const created = await kms.send(new CreateKeyCommand({}));
    const aliasName = `alias/ssm-test-${randomBytes(4).toString('hex')}`;
    await kms.send(
      new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: created.KeyMetadata?.KeyId }),
    );
    const name = `${root()}/custom-key`;
    const secret = randomValue();
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: secret,
        Type: 'SecureString',
        KeyId: aliasName,
      }),
    );
    const got = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(got.Parameter?.Value).toBe(secret);
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: name }));
    expect(history.Parameters?.[0]?.KeyId).toBe(aliasName);
    await expect(
      ssm.send(
        new PutParameterCommand({
          Name: `${root()}/bad-key`,
          Value: secret,
          Type: 'SecureString',
          KeyId: 'alias/does-not-exist',
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidKeyId);
  });

  it('GetParameter reads an older version by name:version and a labelled one by name:label; unknown ones are ParameterVersionNotFound', async () => {
    // Prepare
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `${root()}/labelled`;
    const v1 = randomValue();
    await put(ssm, name, v1, { Type: 'SecureString' });
    await put(ssm, name, randomValue(), { Overwrite: true });
    const labelled = await ssm.send(
      new LabelParameterVersionCommand({ Name: name, ParameterVersion: 1, Labels: ['previous'] }),
    );
    // Act
    const byVersion = await ssm.send(
      new GetParameterCommand({ Name: `${name}:1`, WithDecryption: true }),
    );
    const byLabel = await ssm.send(
      new GetParameterCommand({ Name: `${name}:previous`, WithDecryption: true }),
    );
    // Assess
    expect(labelled).toMatchObject({ ParameterVersion: 1, InvalidLabels: [] });
    expect(byVersion.Parameter).toMatchObject({
      Value: v1,
      Version: 1,
      Selector: ':1',
      Type: 'SecureString',
    });
    expect(byLabel.Parameter).toMatchObject({ Value: v1, Version: 1, Selector: ':previous' });
    for (const missing of [`${name}:7`, `${name}:nolabel`]) {
      await expect(ssm.send(new GetParameterCommand({ Name: missing }))).rejects.toBeInstanceOf(
        ParameterVersionNotFound,
      );
    }
    await expect(
      ssm.send(new GetParameterCommand({ Name: `${root()}/absent` })),
    ).rejects.toBeInstanceOf(ParameterNotFound);
  });

  it('LabelParameterVersion moves a label to the latest version, returns invalid labels, and caps a version at 10 labels', async () => {
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `${root()}/labels`;
    await put(ssm, name, randomValue());
    await ssm.send(new LabelParameterVersionCommand({ Name: name, Labels: ['live'] }));
    await put(ssm, name, randomValue(), { Overwrite: true });
    const moved = await ssm.send(
      new LabelParameterVersionCommand({ Name: name, Labels: ['live', '1bad', 'aws-no', 'ok.2'] }),
    );
    expect(moved).toMatchObject({ ParameterVersion: 2, InvalidLabels: ['1bad', 'aws-no'] });
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: name }));
    expect(history.Parameters?.map((p) => p.Labels)).toEqual([[], ['live', 'ok.2']]);
    const many = Array.from({ length: 9 }, (_, i) => `l${i}`);
    await expect(
      ssm.send(new LabelParameterVersionCommand({ Name: name, Labels: many })),
    ).rejects.toBeInstanceOf(ParameterVersionLabelLimitExceeded);
    await expect(
      ssm.send(
        new LabelParameterVersionCommand({ Name: name, ParameterVersion: 9, Labels: ['x'] }),
      ),
    ).rejects.toBeInstanceOf(ParameterVersionNotFound);
  });

  it('GetParameters returns found parameters and lists the others in InvalidParameters', async () => {
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const base = root();
    const value = randomValue();
    await put(ssm, `${base}/a`, value);
    const got = await ssm.send(
      new GetParametersCommand({ Names: [`${base}/a`, `${base}/missing`, `${base}/a:5`] }),
    );
    expect(got.Parameters?.map((p) => [p.Name, p.Value])).toEqual([[`${base}/a`, value]]);
    expect(got.InvalidParameters).toEqual([`${base}/missing`, `${base}/a:5`]);
  });

  it('GetParametersByPath lists direct children, or all descendants with Recursive, in pages of MaxResults', async () => {
    // Prepare
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const base = root();
    const names = [`${base}/a`, `${base}/b`, `${base}/c`, `${base}/sub/d`, `${base}/sub/deep/e`];
    for (const name of names) await put(ssm, name, randomValue(), { Type: 'SecureString' });
    await put(ssm, `${base}x/outside`, randomValue());
    // Act
    const direct = await ssm.send(new GetParametersByPathCommand({ Path: base }));
    const pages: string[][] = [];
    let NextToken: string | undefined;
    do {
      const page = await ssm.send(
        new GetParametersByPathCommand({
          Path: `${base}/`,
          Recursive: true,
          MaxResults: 2,
          WithDecryption: true,
          NextToken,
        }),
      );
      pages.push((page.Parameters ?? []).map((p) => p.Name as string));
      NextToken = page.NextToken;
    } while (NextToken);
    // Assess
    expect(direct.Parameters?.map((p) => p.Name)).toEqual(names.slice(0, 3));
    expect(pages).toEqual([names.slice(0, 2), names.slice(2, 4), names.slice(4)]);
    await expect(
      ssm.send(new GetParametersByPathCommand({ Path: base, NextToken: 'garbage' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken' });
  });

  it('GetParameterHistory keeps every version (older values readable) and pages with MaxResults', async () => {
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `${root()}/history`;
    const values = [randomValue(), randomValue(), randomValue()];
    for (const value of values) {
      await ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: 'SecureString',
          Overwrite: true,
        }),
      );
    }
    const first = await ssm.send(
      new GetParameterHistoryCommand({ Name: name, WithDecryption: true, MaxResults: 2 }),
    );
    const rest = await ssm.send(
      new GetParameterHistoryCommand({
        Name: name,
        WithDecryption: true,
        NextToken: first.NextToken,
      }),
    );
    const all = [...(first.Parameters ?? []), ...(rest.Parameters ?? [])];
    expect(all.map((p) => [p.Version, p.Value])).toEqual(values.map((v, i) => [i + 1, v]));
    expect(rest.NextToken).toBeUndefined();
  });

  it('DeleteParameter removes the parameter and its history; a second delete is ParameterNotFound', async () => {
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `${root()}/deleted`;
    await put(ssm, name, randomValue());
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    await expect(ssm.send(new GetParameterCommand({ Name: name }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
    await expect(ssm.send(new DeleteParameterCommand({ Name: name }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
    expect((await put(ssm, name, randomValue())).Version).toBe(1);
  });

  it('refuses names AWS refuses: reserved prefixes, relative hierarchies, missing Type on create', async () => {
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    for (const Name of ['/aws/x', 'ssm-thing', 'a/b', '/bad name']) {
      await expect(put(ssm, Name, randomValue())).rejects.toMatchObject({
        name: 'ValidationException',
      });
    }
    await expect(
      ssm.send(new PutParameterCommand({ Name: `${root()}/untyped`, Value: randomValue() })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses a value that does not match AllowedPattern with ParameterPatternMismatchException', async () => {
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `${root()}/port`;
    await expect(
      put(ssm, name, 'not-a-number', { AllowedPattern: '^[0-9]+$' }),
    ).rejects.toMatchObject({ name: 'ParameterPatternMismatchException' });
    expect((await put(ssm, name, '5432', { AllowedPattern: '^[0-9]+$' })).Version).toBe(1);
  });

  it('keeps parameters across a restart, SecureString values never in clear in the state file', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const first = await start({ statePath, masterKey });
    const name = `${root()}/persisted`;
    const secret = randomValue();
    await localAwsClients(first).ssm.send(
      new PutParameterCommand({ Name: name, Value: secret, Type: 'SecureString' }),
    );
    await first.close();
    const file = readFileSync(`${statePath}.ssm`, 'utf8');
    expect(file).not.toContain(secret);
    expect(file).not.toContain(name);
    const second = await start({ statePath, masterKey });
    const got = await localAwsClients(second).ssm.send(
      new GetParameterCommand({ Name: name, WithDecryption: true }),
    );
    expect(got.Parameter?.Value).toBe(secret);
  });

  it('refuses to start on a tampered Parameter Store state file, naming it', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const first = await start({ statePath, masterKey });
    await put(localAwsClients(first).ssm, `${root()}/x`, randomValue());
    await first.close();
    const sealed = Buffer.from(readFileSync(`${statePath}.ssm`, 'utf8').trim(), 'base64');
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] as number) ^ 1;
    writeFileSync(`${statePath}.ssm`, sealed.toString('base64'));
    await expect(start({ statePath, masterKey })).rejects.toThrow(
      `State file ${statePath}.ssm (ssm) could not be decrypted`,
    );
  });
});
