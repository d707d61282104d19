import {
  BatchGetSecretValueCommand,
  type BatchGetSecretValueCommandInput,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  InvalidNextTokenException,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { randomValue, uniqueName, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
type Twin = Awaited<ReturnType<typeof start>>;

async function create(twin: Twin, name: string, value?: string) {
  const created = await twin.client.send(
    new CreateSecretCommand({ Name: name, ...(value ? { SecretString: value } : {}) }),
  );
  return { arn: created.ARN as string, versionId: created.VersionId };
}

describe('local Secrets Manager: BatchGetSecretValue through the AWS SDK v3', () => {
  it('by SecretIdList: returns each AWSCURRENT value as GetSecretValue does, in the order asked, names and ARNs alike', async () => {
    // Prepare
    const twin = await start();
    const [a, b] = [randomValue(), randomValue()];
    const first = await create(twin, uniqueName('batch'), a);
    const secondName = uniqueName('batch');
    const second = await create(twin, secondName, b);
    // Act
    const result = await twin.client.send(
      new BatchGetSecretValueCommand({ SecretIdList: [secondName, first.arn] }),
    );
    // Assess
    expect(result.Errors).toEqual([]);
    expect(result.SecretValues?.map((v) => [v.ARN, v.SecretString, v.VersionStages])).toEqual([
      [second.arn, b, ['AWSCURRENT']],
      [first.arn, a, ['AWSCURRENT']],
    ]);
    expect(result.SecretValues?.[0]?.VersionId).toBe(second.versionId);
    expect(result.SecretValues?.[0]?.CreatedDate).toBeInstanceOf(Date);
    expect(result.NextToken).toBeUndefined();
  });

  it('by SecretIdList: lists the ids it cannot read in Errors with the error GetSecretValue gives', async () => {
    // Prepare
    const twin = await start();
    const readable = await create(twin, uniqueName('batch'), randomValue());
    const missing = uniqueName('missing');
    const empty = await create(twin, uniqueName('batch'));
    const deleted = await create(twin, uniqueName('batch'), randomValue());
    await twin.client.send(new DeleteSecretCommand({ SecretId: deleted.arn }));
    // Act
    const result = await twin.client.send(
      new BatchGetSecretValueCommand({
        SecretIdList: [readable.arn, missing, empty.arn, deleted.arn],
      }),
    );
    // Assess
    expect(result.SecretValues?.map((v) => v.ARN)).toEqual([readable.arn]);
    expect(result.Errors?.map((e) => [e.SecretId, e.ErrorCode])).toEqual([
      [missing, 'ResourceNotFoundException'],
      [empty.arn, 'ResourceNotFoundException'],
      [deleted.arn, 'InvalidRequestException'],
    ]);
    expect(result.Errors?.every((e) => (e.Message ?? '').length > 0)).toBe(true);
  });

  it('by Filters: pages with MaxResults and NextToken in ListSecrets order, skipping secrets scheduled for deletion', async () => {
    // Prepare
    const twin = await start();
    const prefix = uniqueName('fleet');
    const values = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const value = randomValue();
      const { arn } = await create(twin, `${prefix}/${i}`, value);
      values.set(arn, value);
    }
    const gone = await create(twin, `${prefix}/gone`, randomValue());
    await twin.client.send(new DeleteSecretCommand({ SecretId: gone.arn }));
    await create(twin, uniqueName('other'), randomValue());
    const filters = [{ Key: 'name' as const, Values: [prefix] }];
    // Act
    const pages = [];
    let token: string | undefined;
    do {
      const page = await twin.client.send(
        new BatchGetSecretValueCommand({
          Filters: filters,
          MaxResults: 2,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      pages.push(page);
      token = page.NextToken;
    } while (token);
    // Assess
    expect(pages.map((p) => p.SecretValues?.length)).toEqual([2, 2, 1]);
    const got = pages.flatMap((p) => p.SecretValues ?? []);
    expect(got.map((v) => [v.ARN, v.SecretString])).toEqual([...values]);
    expect(pages.flatMap((p) => p.Errors ?? [])).toEqual([]);
  });

  it('by Filters: defaults to 20 per page and reports a matching secret without a value in Errors', async () => {
    const twin = await start();
    const prefix = uniqueName('many');
    for (let i = 0; i < 21; i++)
      await create(twin, `${prefix}/${String(i).padStart(2, '0')}`, randomValue());
    const page = await twin.client.send(
      new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }),
    );
    expect(page.SecretValues).toHaveLength(20);
    expect(page.NextToken).toBeDefined();
    const emptyName = uniqueName('novalue');
    const empty = await create(twin, emptyName);
    const result = await twin.client.send(
      new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [emptyName] }] }),
    );
    expect(result.SecretValues).toEqual([]);
    expect(result.Errors?.map((e) => [e.SecretId, e.ErrorCode])).toEqual([
      [empty.arn, 'ResourceNotFoundException'],
    ]);
  });

  it('records LastAccessedDate like GetSecretValue', async () => {
    const twin = await start();
    const { arn } = await create(twin, uniqueName('batch'), randomValue());
    await twin.client.send(new BatchGetSecretValueCommand({ SecretIdList: [arn] }));
    const described = await twin.client.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(described.LastAccessedDate).toBeInstanceOf(Date);
  });

  it.each<[string, BatchGetSecretValueCommandInput]>([
    ['neither SecretIdList nor Filters', {}],
    [
      'both SecretIdList and Filters',
      { SecretIdList: ['a'], Filters: [{ Key: 'name', Values: ['a'] }] },
    ],
    ['MaxResults with SecretIdList', { SecretIdList: ['a'], MaxResults: 1 }],
    ['more than 20 ids', { SecretIdList: Array.from({ length: 21 }, (_, i) => `s${i}`) }],
    ['an empty SecretIdList', { SecretIdList: [] }],
    ['MaxResults above 20', { Filters: [{ Key: 'name', Values: ['a'] }], MaxResults: 21 }],
    ['an unknown filter key', { Filters: [{ Key: 'colour' as 'name', Values: ['a'] }] }],
  ])('refuses %s with InvalidParameterException', async (_what, input) => {
    const twin = await start();
    await expect(twin.client.send(new BatchGetSecretValueCommand(input))).rejects.toBeInstanceOf(
      InvalidParameterException,
    );
  });

  it('refuses a NextToken it did not issue with InvalidNextTokenException', async () => {
    const twin = await start();
    await expect(
      twin.client.send(
        new BatchGetSecretValueCommand({
          Filters: [{ Key: 'name', Values: ['a'] }],
          NextToken: 'forged',
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidNextTokenException);
  });
});

describe('local Secrets Manager: DeleteSecret with ForceDeleteWithoutRecovery', () => {
  it('does not return ResourceNotFoundException for a secret that does not exist or is already deleted', async () => {
    // Prepare
    const twin = await start();
    const name = uniqueName('gone');
    const { arn } = await create(twin, uniqueName('gone'), randomValue());
    await twin.client.send(
      new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }),
    );
    // Act
    const byName = await twin.client.send(
      new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
    );
    const again = await twin.client.send(
      new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }),
    );
    // Assess
    expect(byName.Name).toBe(name);
    expect(byName.DeletionDate).toBeInstanceOf(Date);
    expect(again.ARN).toBe(arn);
    await expect(
      twin.client.send(new DeleteSecretCommand({ SecretId: name })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('still refuses ForceDeleteWithoutRecovery with RecoveryWindowInDays on a missing secret (InvalidParameterException)', async () => {
    const twin = await start();
    await expect(
      twin.client.send(
        new DeleteSecretCommand({
          SecretId: uniqueName('gone'),
          ForceDeleteWithoutRecovery: true,
          RecoveryWindowInDays: 7,
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('a forced delete of a missing secret leaves other secrets alone', async () => {
    const twin = await start();
    const value = randomValue();
    const kept = await create(twin, uniqueName('kept'), value);
    await twin.client.send(
      new DeleteSecretCommand({
        SecretId: `${kept.arn.slice(0, -7)}x`,
        ForceDeleteWithoutRecovery: true,
      }),
    );
    await twin.client.send(
      new PutSecretValueCommand({ SecretId: kept.arn, SecretString: randomValue() }),
    );
  });
});
