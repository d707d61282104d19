import {
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/api-AbCdEf';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:rotator-apikey';
const OLD = 'a'.repeat(32);
const NEW = 'b'.repeat(32);

/**
 * `rotate --wait` against AWS, where only labels are visible: DescribeSecret answers from a
 * fake clock that the CLI's sleep advances, so the test is instant and independent of call
 * order.
 */
describe('rotate --wait against AWS (mocked Secrets Manager, fake clock)', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  async function rotate(doneAfterMs: number | undefined, args: string[] = []) {
    let now = 0;
    let rotated = false;
    sm.on(RotateSecretCommand).callsFake(() => {
      rotated = true;
      return { ARN: SECRET_ARN, Name: 'prod/api', VersionId: NEW };
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(DescribeSecretCommand).callsFake(() => ({
      ARN: SECRET_ARN,
      Name: 'prod/api',
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN,
      VersionIdsToStages:
        doneAfterMs !== undefined && now >= doneAfterMs
          ? { [OLD]: ['AWSPREVIOUS'], [NEW]: ['AWSCURRENT', 'AWSPENDING'] }
          : !rotated
            ? { [OLD]: ['AWSCURRENT'] }
            : { [OLD]: ['AWSCURRENT'], [NEW]: ['AWSPENDING'] },
    }));
    const out = captureOutput();
    const code = await main(['rotate', 'prod/api', '--wait', '--region', 'eu-west-1', ...args], {
      out,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      context: (ctx) => ({
        ...ctx,
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      }),
    });
    return { code, text: out.text() };
  }

  it('succeeds when the new version becomes AWSCURRENT (AWSPENDING may stay on it)', async () => {
    const { code, text } = await rotate(6_000);
    expect(code).toBe(0);
    expect(sm.commandCalls(RotateSecretCommand)[0]?.args[0].input).toEqual({
      SecretId: SECRET_ARN,
      RotateImmediately: true,
    });
    expect(text).toContain('rotation in progress');
    expect(text).toContain('Rotated: version bbbbbbbb is AWSCURRENT');
  });

  it('fails with exit 1 and where to look when AWSPENDING outlives --timeout', async () => {
    const { code, text } = await rotate(undefined, ['--timeout', '30', '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(text) as { outcome: string; message: string; durationMs: number };
    expect(report.outcome).toBe('timed-out');
    expect(report.durationMs).toBeGreaterThanOrEqual(30_000);
    expect(report.message).toContain('AWSPENDING is still on version bbbbbbbb');
    expect(report.message).toContain('CloudTrail RotationFailed');
  });
});
