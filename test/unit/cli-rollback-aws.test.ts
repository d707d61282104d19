import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/partner-api-AbCdEf';
const CURRENT = 'c'.repeat(32);
const PREVIOUS = 'b'.repeat(32);

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

describe('rollback of a provider-issued API key (mocked Secrets Manager)', () => {
  it('moves AWSCURRENT back and says which provider key stays valid, without printing keys', async () => {
    const [currentKey, previousKey] = [
      randomBytes(20).toString('hex'),
      randomBytes(20).toString('hex'),
    ];
    const provider = { type: 'http', baseUrl: 'https://keys.example.test' };
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/partner-api',
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-apikey',
      VersionIdsToStages: { [CURRENT]: ['AWSCURRENT'], [PREVIOUS]: ['AWSPREVIOUS'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(GetSecretValueCommand, { VersionId: CURRENT }).resolves({
      SecretString: JSON.stringify({ apiKey: currentKey, provider, keyId: 'key_new' }),
    });
    sm.on(GetSecretValueCommand, { VersionId: PREVIOUS }).resolves({
      SecretString: JSON.stringify({ apiKey: previousKey, provider, keyId: 'key_old' }),
    });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const out = captureOutput();
    const code = await main(['rollback', 'prod/partner-api', '--region', 'eu-west-1'], {
      out,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    });
    const text = out.text();
    expect(code).toBe(0);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      {
        SecretId: SECRET_ARN,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: PREVIOUS,
        RemoveFromVersionId: CURRENT,
      },
    ]);
    expect(text).toContain('Rolled back prod/partner-api');
    expect(text).toContain(
      '! The provider key key_new of the version being rolled away from stays valid',
    );
    expect(text).not.toContain(currentKey);
    expect(text).not.toContain(previousKey);
  });
});

describe('rollback of a single-key provider API key (mocked Secrets Manager)', () => {
  function seed(provider: Record<string, unknown>) {
    const [currentKey, previousKey] = [
      randomBytes(20).toString('hex'),
      randomBytes(20).toString('hex'),
    ];
    const [newId, oldId] = [
      `key_${randomBytes(6).toString('hex')}`,
      `key_${randomBytes(6).toString('hex')}`,
    ];
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/partner-api',
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-apikey',
      VersionIdsToStages: { [CURRENT]: ['AWSCURRENT'], [PREVIOUS]: ['AWSPREVIOUS'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(GetSecretValueCommand, { VersionId: CURRENT }).resolves({
      SecretString: JSON.stringify({
        apiKey: currentKey,
        provider,
        keyId: newId,
        previousKeyId: oldId,
      }),
    });
    sm.on(GetSecretValueCommand, { VersionId: PREVIOUS }).resolves({
      SecretString: JSON.stringify({ apiKey: previousKey, provider, keyId: oldId }),
    });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    return { currentKey, previousKey };
  }

  it.each([
    [
      'declared inline with maxLiveKeys 1',
      {
        type: 'http',
        baseUrl: 'https://keys.example.test',
        capabilities: { maxLiveKeys: 1 },
      },
    ],
    ['declared in an SSM parameter (capabilities unknown)', { ssmParameter: '/rotator/vendor' }],
  ])(
    'refuses when the AWSPREVIOUS key may have been revoked at finishSecret: %s',
    async (_name, provider) => {
      const { currentKey, previousKey } = seed(provider);
      const out = captureOutput();
      const code = await main(['rollback', 'prod/partner-api', '--region', 'eu-west-1'], {
        out,
        env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      });
      const text = out.text();
      expect(code).not.toBe(0);
      // Single-key mode revokes the AWSPREVIOUS key right after promotion: moving AWSCURRENT
      // back would hand every client a revoked key.
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
      expect(text).toContain('Refusing to roll back');
      expect(text).not.toContain(currentKey);
      expect(text).not.toContain(previousKey);
    },
  );
});

describe('rollback of a two-slot provider API key (mocked Secrets Manager)', () => {
  function seed(
    versions: Array<{ VersionId: string; CreatedDate: Date; VersionStages?: string[] }>,
  ) {
    const provider = {
      type: 'http',
      baseUrl: 'https://keys.example.test',
      capabilities: { maxLiveKeys: 2 },
    };
    const [newId, oldId] = [
      `key_${randomBytes(6).toString('hex')}`,
      `key_${randomBytes(6).toString('hex')}`,
    ];
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/partner-api',
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-apikey',
      VersionIdsToStages: { [CURRENT]: ['AWSCURRENT'], [PREVIOUS]: ['AWSPREVIOUS'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: versions });
    sm.on(GetSecretValueCommand, { VersionId: CURRENT }).resolves({
      SecretString: JSON.stringify({
        apiKey: randomBytes(20).toString('hex'),
        provider,
        keyId: newId,
        previousKeyId: oldId,
      }),
    });
    sm.on(GetSecretValueCommand, { VersionId: PREVIOUS }).resolves({
      SecretString: JSON.stringify({
        apiKey: randomBytes(20).toString('hex'),
        provider,
        keyId: oldId,
      }),
    });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
  }
  const run = () =>
    main(['rollback', 'prod/partner-api', '--region', 'eu-west-1'], {
      out: captureOutput(),
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    });
  const labelled = [
    {
      VersionId: PREVIOUS,
      CreatedDate: new Date(Date.UTC(2026, 0, 1)),
      VersionStages: ['AWSPREVIOUS'],
    },
    {
      VersionId: CURRENT,
      CreatedDate: new Date(Date.UTC(2026, 1, 1)),
      VersionStages: ['AWSCURRENT'],
    },
  ];

  it('rolls back when no rotation was attempted since the current version', async () => {
    seed(labelled);
    expect(await run()).toBe(0);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
  });

  it('refuses after an abandoned rotation, whose createSecret revoked the AWSPREVIOUS key', async () => {
    // A later rotation ran createSecret (two-slot: revoke the AWSPREVIOUS key, mint) and was
    // then abandoned (unstick removed AWSPENDING): its version is left without labels.
    seed([...labelled, { VersionId: 'a'.repeat(32), CreatedDate: new Date(Date.UTC(2026, 2, 1)) }]);
    expect(await run()).not.toBe(0);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });
});

describe('rollback when AWSPENDING was left on the current version (mocked Secrets Manager)', () => {
  it('also clears AWSPENDING, so the rolled-away version does not look like a pending rotation', async () => {
    const provider = { type: 'http', baseUrl: 'https://keys.example.test' };
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/partner-api',
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-apikey',
      // A valid end state of a finished rotation (aws-samples/...#168).
      VersionIdsToStages: {
        [CURRENT]: ['AWSCURRENT', 'AWSPENDING'],
        [PREVIOUS]: ['AWSPREVIOUS'],
      },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(GetSecretValueCommand, { VersionId: CURRENT }).resolves({
      SecretString: JSON.stringify({ apiKey: randomBytes(20).toString('hex'), provider }),
    });
    sm.on(GetSecretValueCommand, { VersionId: PREVIOUS }).resolves({
      SecretString: JSON.stringify({ apiKey: randomBytes(20).toString('hex'), provider }),
    });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const code = await main(['rollback', 'prod/partner-api', '--region', 'eu-west-1'], {
      out: captureOutput(),
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    });
    expect(code).toBe(0);
    // Left in place, AWSPENDING on the new AWSPREVIOUS would block RotateSecret ("A previous
    // rotation isn't complete") and have that old rotation re-attempted, undoing the rollback.
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      {
        SecretId: SECRET_ARN,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: PREVIOUS,
        RemoveFromVersionId: CURRENT,
      },
      { SecretId: SECRET_ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: CURRENT },
    ]);
  });
});
