import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Prober } from '../../cli/lib/probe.js';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/app-AbCdEf';
const CURRENT = 'c'.repeat(32);
const PENDING = 'p'.repeat(32);
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('unstick against AWS (mocked Secrets Manager)', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  async function unstick(pendingAgeMs: number, args: string[] = []) {
    const password = randomBytes(18).toString('base64url');
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/app',
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-example',
      VersionIdsToStages: { [CURRENT]: ['AWSCURRENT'], [PENDING]: ['AWSPENDING'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({
      Versions: [{ VersionId: PENDING, CreatedDate: new Date(NOW - pendingAgeMs) }],
    });
    sm.on(GetSecretValueCommand, { VersionId: CURRENT }).resolves({
      SecretString: JSON.stringify({ password }),
    });
    sm.on(GetSecretValueCommand, { VersionId: PENDING }).rejects(
      new ResourceNotFoundException({ message: 'no value for AWSPENDING', $metadata: {} }),
    );
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const out = captureOutput();
    const code = await main(['unstick', 'prod/app', '--json', '--region', 'eu-west-1', ...args], {
      out,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      context: (ctx) => ({ ...ctx, now: () => NOW }),
    });
    expect(out.text()).not.toContain(password);
    return {
      code,
      plan: JSON.parse(out.text()) as { steps: unknown[]; warnings: string[]; applied?: boolean },
    };
  }

  it('warns that a young pending version may belong to a running rotation', async () => {
    const { code, plan } = await unstick(5 * 60_000);
    expect(code).toBe(0);
    expect(plan.steps).toEqual([{ action: 'remove-pending', versionId: PENDING }]);
    expect(plan.warnings).toEqual([expect.stringContaining('only 5m old')]);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('applies the removal with --apply: one UpdateSecretVersionStage that only removes AWSPENDING', async () => {
    const { plan } = await unstick(3 * 3_600_000, ['--apply']);
    expect(plan.warnings).toEqual([]);
    expect(plan.applied).toBe(true);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: SECRET_ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: PENDING },
    ]);
  });

  it('does not --apply a removal on a young pending database version: a running setSecret could change the password after the probes', async () => {
    const [currentPassword, pendingPassword] = [
      randomBytes(18).toString('base64url'),
      randomBytes(18).toString('base64url'),
    ];
    const secret = (password: string) =>
      JSON.stringify({ engine: 'postgres', host: 'db.example.test', username: 'app', password });
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/app',
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-postgres',
      VersionIdsToStages: { [CURRENT]: ['AWSCURRENT'], [PENDING]: ['AWSPENDING'] },
    });
    sm.on(ListSecretVersionIdsCommand).resolves({
      Versions: [{ VersionId: PENDING, CreatedDate: new Date(NOW - 5 * 60_000) }],
    });
    sm.on(GetSecretValueCommand, { VersionId: CURRENT }).resolves({
      SecretString: secret(currentPassword),
    });
    sm.on(GetSecretValueCommand, { VersionId: PENDING }).resolves({
      SecretString: secret(pendingPassword),
    });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    // Single-user, between createSecret and setSecret: the database still takes the current login.
    const prober: Prober = {
      reach: async () => ({ outcome: 'reachable' }) as never,
      tls: async () => ({ outcome: 'ok' }) as never,
      login: async (_kind, secretString) =>
        (JSON.parse(secretString) as { password: string }).password === currentPassword
          ? { outcome: 'accepted' }
          : { outcome: 'rejected', detail: '28P01' },
    };
    const out = captureOutput();
    const code = await main(['unstick', 'prod/app', '--json', '--apply', '--region', 'eu-west-1'], {
      out,
      prober,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      context: (ctx) => ({ ...ctx, now: () => NOW }),
    });
    const plan = JSON.parse(out.text()) as { steps: unknown[]; applied?: boolean };
    expect(plan.steps).toEqual([{ action: 'remove-pending', versionId: PENDING }]);
    expect(plan.applied).not.toBe(true);
    expect(code).toBe(1);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    expect(out.text()).not.toContain(currentPassword);
    expect(out.text()).not.toContain(pendingPassword);
  });
});
