import { randomBytes } from 'node:crypto';
import {
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ResourceNotFoundException as LambdaNotFound,
} from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Prober } from '../../cli/lib/probe.js';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';
import { unreachableProber as unreachable } from '../helpers/probers.js';

const ACCOUNT = '111122223333';
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:rotator-postgres`;
const SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:prod/db-AbCdEf`;

interface Finding {
  id: string;
  severity: string;
  title: string;
  fix?: string;
}

describe('doctor against AWS (mocked Secrets Manager and Lambda)', () => {
  const sm = mockClient(SecretsManagerClient);
  const lambda = mockClient(LambdaClient);
  const password = randomBytes(18).toString('base64url');

  beforeEach(() => {
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/db',
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN,
      VersionIdsToStages: { ['a'.repeat(32)]: ['AWSCURRENT'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: 'db.internal',
        username: 'app',
        password,
      }),
    });
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ Environment: { Variables: { ROTATION_MODE: 'single-user' } } });
  });

  afterEach(() => {
    sm.reset();
    lambda.reset();
  });

  async function doctor(
    prober: Prober = unreachable,
  ): Promise<{ code: number; findings: Finding[]; text: string }> {
    const out = captureOutput();
    const code = await main(['doctor', 'prod/db', '--json', '--region', 'eu-west-1'], {
      out,
      prober,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    });
    const text = out.text();
    expect(text).not.toContain(password);
    return { code, findings: (JSON.parse(text) as { findings: Finding[] }).findings, text };
  }

  it('reports a missing invoke permission with the add-permission command', async () => {
    lambda
      .on(GetPolicyCommand)
      .rejects(new LambdaNotFound({ message: 'No policy', $metadata: {} }));
    const { code, findings } = await doctor();
    expect(code).toBe(1);
    const missing = findings.find((f) => f.id === 'invoke-permission-missing');
    expect(missing?.fix).toBe(
      `aws lambda add-permission --function-name ${FUNCTION_ARN} --statement-id SecretsManagerAccess --action lambda:InvokeFunction --principal secretsmanager.amazonaws.com --source-account ${ACCOUNT} --region eu-west-1`,
    );
  });

  it('accepts a permission scoped with SourceAccount and warns about one without', async () => {
    const statement = {
      Sid: 'sm',
      Effect: 'Allow',
      Principal: { Service: 'secretsmanager.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Resource: FUNCTION_ARN,
    };
    lambda.on(GetPolicyCommand).resolves({
      Policy: JSON.stringify({
        Statement: [
          { ...statement, Condition: { StringEquals: { 'AWS:SourceAccount': ACCOUNT } } },
        ],
      }),
    });
    const scoped = await doctor();
    expect(scoped.findings.find((f) => f.id === 'invoke-permission')?.severity).toBe('ok');
    expect(scoped.code, 'an unreachable database is only a warning').toBe(0);

    lambda.on(GetPolicyCommand).resolves({ Policy: JSON.stringify({ Statement: [statement] }) });
    const unscoped = await doctor();
    expect(unscoped.findings.find((f) => f.id === 'invoke-permission-unscoped')?.severity).toBe(
      'warning',
    );
  });

  it('reports a rotator that does not exist', async () => {
    lambda
      .on(GetFunctionConfigurationCommand)
      .rejects(new LambdaNotFound({ message: 'Function not found', $metadata: {} }));
    lambda
      .on(GetPolicyCommand)
      .rejects(new LambdaNotFound({ message: 'Function not found', $metadata: {} }));
    const { code, findings } = await doctor();
    expect(code).toBe(1);
    expect(findings.find((f) => f.id === 'function-missing')?.title).toBe(
      'The rotation function rotator-postgres does not exist.',
    );
  });

  it('reports an admin secret (masterarn) that does not exist', async () => {
    const masterArn = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:rds-admin-Zz9Yy8`;
    lambda
      .on(GetPolicyCommand)
      .rejects(new LambdaNotFound({ message: 'No policy', $metadata: {} }));
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ Environment: { Variables: { ROTATION_MODE: 'alternating-users' } } });
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: 'db.internal',
        username: 'app',
        password,
        masterarn: masterArn,
      }),
    });
    sm.on(DescribeSecretCommand, { SecretId: masterArn }).rejects(
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      }),
    );
    const { findings } = await doctor();
    expect(findings.find((f) => f.id === 'admin-secret-missing')?.title).toBe(
      `The admin secret named by masterarn does not exist: ${masterArn}.`,
    );
    expect(findings.find((f) => f.id === 'fields-missing')).toBeUndefined();
  });

  it("checks an API-key provider's reachability and TLS from provider.baseUrl", async () => {
    const apiKey = randomBytes(18).toString('base64url');
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/api',
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN.replace('rotator-postgres', 'rotator-apikey'),
      VersionIdsToStages: { ['a'.repeat(32)]: ['AWSCURRENT'] },
    });
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        apiKey,
        provider: { type: 'http', baseUrl: 'https://keys.example.test:8443/v1' },
      }),
    });
    lambda
      .on(GetPolicyCommand)
      .rejects(new LambdaNotFound({ message: 'No policy', $metadata: {} }));
    const calls: unknown[] = [];
    const prober: Prober = {
      reach: async (host, port) => {
        calls.push(['reach', host, port]);
        return { ok: true, ms: 3 };
      },
      tls: async (target) => {
        calls.push(['tls', target.startTls ? 'in-protocol' : 'direct', target.host, target.port]);
        return { supported: true, verified: false, detail: 'ERR_TLS_CERT_ALTNAME_INVALID' };
      },
      login: async () => ({ outcome: 'error' }),
    };
    const { findings, text } = await doctor(prober);
    expect(text).not.toContain(apiKey);
    expect(calls).toEqual([
      ['reach', 'keys.example.test', 8443],
      ['tls', 'direct', 'keys.example.test', 8443],
    ]);
    expect(findings.find((f) => f.id === 'tls-unverified')?.severity).toBe('error');
    expect(findings.find((f) => f.id === 'fields')?.title).toContain('apikey');
  });

  it.each([
    [5 * 60_000, 'rotation-maybe-running', 'warning'],
    [3 * 3_600_000, 'pending-left-behind', 'error'],
  ])('a pending version %i ms old is %s (%s)', async (ageMs, id, severity) => {
    lambda
      .on(GetPolicyCommand)
      .rejects(new LambdaNotFound({ message: 'No policy', $metadata: {} }));
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/db',
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN,
      VersionIdsToStages: { ['a'.repeat(32)]: ['AWSCURRENT'], ['b'.repeat(32)]: ['AWSPENDING'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({
      Versions: [{ VersionId: 'b'.repeat(32), CreatedDate: new Date(Date.now() - ageMs) }],
    });
    const { findings } = await doctor();
    expect(
      findings.filter((f) => f.id.startsWith('rotation-maybe') || f.id.startsWith('pending-')),
    ).toEqual([expect.objectContaining({ id, severity })]);
  });

  it("reads the password policy from the function's environment", async () => {
    lambda
      .on(GetPolicyCommand)
      .rejects(new LambdaNotFound({ message: 'No policy', $metadata: {} }));
    const defaults = await doctor();
    expect(
      defaults.findings.find((f) => f.id === 'password-policy-unsafe-characters')?.title,
    ).toContain('%');

    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ Environment: { Variables: { EXCLUDE_PUNCTUATION: 'true' } } });
    const safe = await doctor();
    expect(safe.findings.find((f) => f.id === 'password-policy')?.title).toContain(
      'function environment',
    );
  });
});
