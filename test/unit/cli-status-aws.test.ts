import {
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:111122223333:secret:${name}-AbCdEf`;
const id = (c: string) => c.repeat(32);

describe('status against AWS (mocked Secrets Manager)', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  it('tells a rotation that is probably still running from one left pending, by the pending version age', async () => {
    const entry = (name: string) => ({
      ARN: arn(name),
      Name: name,
      RotationEnabled: true,
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-postgres',
      RotationRules: { ScheduleExpression: 'rate(7 days)', Duration: '2h' },
      SecretVersionsToStages: { [id('c')]: ['AWSCURRENT'], [id('p')]: ['AWSPENDING'] },
    });
    sm.on(ListSecretsCommand).resolves({
      SecretList: [
        entry('db/fresh'),
        entry('db/stuck'),
        { ARN: arn('plain'), Name: 'plain', SecretVersionsToStages: { [id('a')]: ['AWSCURRENT'] } },
      ],
    });
    sm.on(ListSecretVersionIdsCommand, { SecretId: arn('db/fresh') }).resolves({
      Versions: [{ VersionId: id('p'), CreatedDate: new Date(NOW - 4 * 60_000) }],
    });
    sm.on(ListSecretVersionIdsCommand, { SecretId: arn('db/stuck') }).resolves({
      Versions: [{ VersionId: id('p'), CreatedDate: new Date(NOW - 3 * 3_600_000) }],
    });
    const out = captureOutput();
    const code = await main(['status', '--region', 'eu-west-1'], {
      out,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      context: (ctx) => ({ ...ctx, now: () => NOW }),
    });
    const text = out.text();
    expect(code).toBe(1);
    expect(text).toMatch(/db\/fresh\s+rotating\s+rotator-postgres\s+rate\(7 days\) within 2h/);
    expect(text).toMatch(/db\/stuck\s+PENDING/);
    expect(text).toContain('! db/stuck: AWSPENDING left on version pppppppp for 3h 0m.');
    expect(text).not.toContain('! db/fresh');
    expect(text).not.toContain('plain');
    expect(sm.commandCalls(ListSecretVersionIdsCommand)).toHaveLength(2);
  });
});
