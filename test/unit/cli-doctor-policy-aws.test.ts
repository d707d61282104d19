import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../cli/lib/findings.js';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';
import { unreachableProber } from '../helpers/probers.js';

const ACCOUNT = '111122223333';
const PARTNER = '444455556666';
const SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:shared/api-AbCdEf`;

const partnerRead = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${PARTNER}:root` },
      Action: 'secretsmanager:GetSecretValue',
      Resource: '*',
    },
  ],
});

describe('doctor against AWS (mocked): the resource policy', () => {
  const sm = mockClient(SecretsManagerClient);
  const password = randomBytes(18).toString('base64url');

  function describeAs(extra: Partial<DescribeSecretCommandOutput>): void {
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'shared/api',
      VersionIdsToStages: { ['a'.repeat(32)]: ['AWSCURRENT'] },
      ...extra,
    });
  }

  beforeEach(() => {
    describeAs({});
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'app', password }),
    });
  });

  afterEach(() => {
    sm.reset();
  });

  async function findings(): Promise<Map<string, Finding>> {
    const out = captureOutput();
    await main(['doctor', 'shared/api', '--json', '--region', 'eu-west-1'], {
      out,
      prober: unreachableProber,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    });
    const text = out.text();
    expect(text).not.toContain(password);
    const list = (JSON.parse(text) as { findings: Finding[] }).findings;
    return new Map(list.map((f) => [f.id, f]));
  }

  it('flags a partner account reading a secret without KmsKeyId (the AWS managed key)', async () => {
    sm.on(GetResourcePolicyCommand, { SecretId: SECRET_ARN }).resolves({
      ResourcePolicy: partnerRead,
    });
    const found = await findings();
    expect(found.get('cross-account-aws-managed-key')?.title).toContain(`account ${PARTNER}`);
  });

  it('reports the partner read without flagging it when a customer managed key encrypts the secret', async () => {
    const key = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    describeAs({ KmsKeyId: key });
    sm.on(GetResourcePolicyCommand).resolves({ ResourcePolicy: partnerRead });
    const found = await findings();
    expect(found.has('cross-account-aws-managed-key')).toBe(false);
    expect(found.get('cross-account-read')?.severity).toBe('info');
  });

  it('says so, as info, when the caller may not read the policy', async () => {
    sm.on(GetResourcePolicyCommand).rejects(
      new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'not authorized',
      }),
    );
    const found = await findings();
    expect(found.get('resource-policy-unknown')).toMatchObject({
      severity: 'info',
      title: 'Could not read the resource policy (AccessDeniedException).',
    });
  });

  it('warns about a policy it cannot read as a policy, naming the problem', async () => {
    sm.on(GetResourcePolicyCommand).resolves({ ResourcePolicy: '{"Version":"2012-10-17"}' });
    const found = await findings();
    expect(found.get('resource-policy-unreadable')).toMatchObject({
      severity: 'warning',
      detail: 'Statement is required.',
    });
  });
});
