import { randomBytes } from 'node:crypto';
import { PutResourcePolicyCommand, UpdateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_FUNCTION_NAME } from '../../local/secrets-manager/defaultRegistry.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { CLI_TEST_TIMEOUT_MS, createSecret, randomValue, runCli } from './cli-harness.js';

interface Finding {
  id: string;
  severity: string;
  title: string;
  detail?: string;
  fix?: string;
}

const OTHER_ACCOUNT = '444455556666';

function policy(statements: Record<string, unknown>[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({ Effect: 'Allow', Resource: '*', ...s })),
  });
}

const crossAccountRead = policy([
  {
    Sid: 'PartnerRead',
    Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:role/reader` },
    Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  },
]);

describe('rotator CLI: doctor shows the resource policy and flags cross-account reads under the AWS managed key', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let twin: LocalSecretsManager;
  const passwords: string[] = [];

  beforeAll(async () => {
    twin = await startLocalSecretsManager({ port: 0 });
  });

  afterAll(async () => {
    await twin?.close();
  });

  async function secretWithPolicy(resourcePolicy?: string, kmsKeyId?: string): Promise<string> {
    const password = randomValue();
    passwords.push(password);
    const { name } = await createSecret(twin, { username: 'app', password }, EXAMPLE_FUNCTION_NAME);
    if (kmsKeyId)
      await twin.client.send(new UpdateSecretCommand({ SecretId: name, KmsKeyId: kmsKeyId }));
    if (resourcePolicy) {
      await twin.client.send(
        new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: resourcePolicy }),
      );
    }
    return name;
  }

  async function doctor(
    name: string,
  ): Promise<{ code: number; findings: Map<string, Finding>; text: string }> {
    const json = await runCli(twin, ['doctor', name, '--json']);
    const text = await runCli(twin, ['doctor', name]);
    for (const output of [json.stdout, json.stderr, text.stdout, text.stderr]) {
      for (const password of passwords)
        expect(output.includes(password), 'a secret value was printed').toBe(false);
    }
    const findings = (JSON.parse(json.stdout) as { findings: Finding[] }).findings;
    return {
      code: json.code,
      findings: new Map(findings.map((f) => [f.id, f])),
      text: text.stdout,
    };
  }

  it('flags a policy that lets another account read a secret under the AWS managed key, with the fix', async () => {
    // Prepare
    const name = await secretWithPolicy(crossAccountRead);
    // Act
    const { code, findings, text } = await doctor(name);
    // Assess
    const flagged = findings.get('cross-account-aws-managed-key');
    expect(flagged?.severity).toBe('warning');
    expect(flagged?.title).toContain(`account ${OTHER_ACCOUNT}`);
    expect(flagged?.title).toContain('aws/secretsmanager');
    expect(flagged?.fix).toContain(
      `aws secretsmanager update-secret --secret-id ${name} --kms-key-id`,
    );
    expect(findings.get('resource-policy')?.detail).toBe(
      `PartnerRead: Allow AWS arn:aws:iam::${OTHER_ACCOUNT}:role/reader → secretsmanager:GetSecretValue, secretsmanager:DescribeSecret`,
    );
    expect(text).toContain('! The policy lets account 444455556666 read the secret');
    expect(text).toContain('i Resource policy: 1 statement.');
    expect(code, 'not a rotation blocker').toBe(0);
  });

  it('the same policy under a customer managed key is reported, not flagged; so is alias/aws/secretsmanager named explicitly', async () => {
    const key = `arn:aws:kms:us-east-1:${twin.accountId}:key/${randomBytes(16).toString('hex')}`;
    const customer = await doctor(await secretWithPolicy(crossAccountRead, key));
    expect(customer.findings.has('cross-account-aws-managed-key')).toBe(false);
    expect(customer.findings.get('cross-account-read')?.title).toContain(key);
    const explicit = await doctor(
      await secretWithPolicy(crossAccountRead, 'alias/aws/secretsmanager'),
    );
    expect(explicit.findings.get('cross-account-aws-managed-key')?.severity).toBe('warning');
  });

  it('warns about a wildcard principal, says when there is no policy, and ignores grants to its own account', async () => {
    const everyone = await doctor(
      await secretWithPolicy(policy([{ Principal: '*', Action: 'secretsmanager:GetSecretValue' }])),
    );
    expect(everyone.findings.get('resource-policy-public')?.severity).toBe('warning');
    expect(everyone.findings.get('cross-account-aws-managed-key')?.title).toContain('any account');

    const none = await doctor(await secretWithPolicy());
    expect(none.findings.get('resource-policy-none')?.severity).toBe('ok');

    const own = await doctor(
      await secretWithPolicy(
        policy([{ Principal: { AWS: twin.accountId }, Action: 'secretsmanager:*' }]),
      ),
    );
    expect(own.findings.has('cross-account-aws-managed-key')).toBe(false);
    expect(own.findings.has('resource-policy-public')).toBe(false);
    expect(own.findings.get('resource-policy')?.severity).toBe('info');
  });
});
