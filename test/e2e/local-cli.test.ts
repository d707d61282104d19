import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  randomCredential,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
} from '../helpers/localSecretsManager.js';

const run = promisify(execFile);
const start = useLocalSecretsManager();

/**
 * `$AWS_CLI_PATH` when set (and only it), else the first `aws` on PATH, `/usr/local/bin` or
 * `/usr/bin` that reports CLI v2: PATH may start with a v1 shim (e.g. pyenv).
 */
function findAwsCliV2(): string | undefined {
  const explicit = process.env.AWS_CLI_PATH;
  const candidates = (
    explicit
      ? [explicit]
      : [
          ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'aws')),
          '/usr/local/bin/aws',
          '/usr/bin/aws',
        ]
  ).filter((p) => p.length > 0 && existsSync(p));
  for (const candidate of candidates) {
    try {
      const version = execFileSync(candidate, ['--version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (version.startsWith('aws-cli/2')) return candidate;
    } catch {
      // not runnable (e.g. a pyenv shim without a version): try the next one
    }
  }
  return undefined;
}

const aws = findAwsCliV2();
const MISSING =
  'AWS CLI v2 not found ($AWS_CLI_PATH if set, else PATH, /usr/local/bin, /usr/bin). Install it: apt-get install -y awscli (Debian 12 ships v2)';

/**
 * Runs `aws --endpoint-url <twin> --output json secretsmanager …` with dummy credentials and
 * no profile files, signing for `AWS_REGION` us-east-1 unless the arguments add `--region`.
 */
function awsCli(aws: string, url: string) {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run(
      aws,
      ['--endpoint-url', url, '--output', 'json', 'secretsmanager', ...args],
      { env },
    );
    return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
  };
  const cliError = async (...args: string[]): Promise<string> => {
    try {
      await cli(...args);
    } catch (error) {
      return String((error as { stderr?: string }).stderr);
    }
    throw new Error(`expected aws secretsmanager ${args[0]} to fail`);
  };
  return { cli, cliError };
}

describe('local Secrets Manager: driven by the real AWS CLI v2', () => {
  it('create-secret, put-secret-value, describe-secret, update-secret-version-stage, rotate-secret, get-random-password, cancel-rotate-secret', async (context) => {
    if (!aws) {
      // In CI a missing CLI is a broken environment, not a reason to pass quietly.
      if (process.env.CI === 'true') throw new Error(MISSING);
      context.skip(MISSING);
      return;
    }
    // Prepare
    let script: ReturnType<typeof scriptedRotationFunction> | undefined;
    const twin = await start({
      registry: ({ client }) => {
        script = scriptedRotationFunction(client, {
          failAt: { step: 'testSecret', message: 'cli test failure', times: 1 },
        });
        return new Map([['cli-rotation', script.fn]]);
      },
    });
    const { cli, cliError } = awsCli(aws, twin.url);
    const name = uniqueName('cli');
    const first = randomCredential();
    const second = randomCredential();

    // Act + Assess, one command at a time
    const created = await cli('create-secret', '--name', name, '--secret-string', first);
    expect(created.Name).toBe(name);
    const arn = created.ARN as string;
    const v1 = created.VersionId as string;

    const put = await cli(
      'put-secret-value',
      '--secret-id',
      name,
      '--secret-string',
      second,
      '--version-stages',
      'STAGED',
    );
    const v2 = put.VersionId as string;
    expect(put.VersionStages).toEqual(['STAGED']);

    const refused = await cliError(
      'update-secret-version-stage',
      '--secret-id',
      name,
      '--version-stage',
      'AWSCURRENT',
      '--move-to-version-id',
      v2,
    );
    expect(refused).toContain('InvalidParameterException');
    expect(refused).toContain(`currently attached to version ${v1}`);

    await cli(
      'update-secret-version-stage',
      '--secret-id',
      name,
      '--version-stage',
      'AWSCURRENT',
      '--move-to-version-id',
      v2,
      '--remove-from-version-id',
      v1,
    );
    const described = await cli('describe-secret', '--secret-id', arn);
    expect(described.VersionIdsToStages).toEqual({
      [v1]: ['AWSPREVIOUS'],
      [v2]: ['STAGED', 'AWSCURRENT'],
    });
    expect(typeof described.CreatedDate).toBe('string');

    const rotated = await cli(
      'rotate-secret',
      '--secret-id',
      name,
      '--rotation-lambda-arn',
      'arn:aws:lambda:us-east-1:123456789012:function:cli-rotation',
      '--rotation-rules',
      '{"ScheduleExpression":"rate(10 days)"}',
    );
    await twin.rotations.settled();
    const pendingId = rotated.VersionId as string;
    const again = await cliError('rotate-secret', '--secret-id', name);
    expect(again).toContain('InvalidRequestException');
    expect(again).toContain(
      "A previous rotation isn't complete. That rotation will be reattempted.",
    );
    await twin.rotations.settled();
    const afterRotation = await cli('describe-secret', '--secret-id', name);
    expect((afterRotation.VersionIdsToStages as Record<string, string[]>)[pendingId]).toEqual([
      'AWSCURRENT',
    ]);
    expect(afterRotation.RotationEnabled).toBe(true);
    expect(afterRotation.RotationRules).toEqual({ ScheduleExpression: 'rate(10 days)' });

    const password = await cli(
      'get-random-password',
      '--password-length',
      '20',
      '--exclude-punctuation',
      '--exclude-characters',
      'abc',
      '--require-each-included-type',
    );
    expect(password.RandomPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(password.RandomPassword).not.toMatch(/[abc]/);

    const cancelled = await cli('cancel-rotate-secret', '--secret-id', name);
    expect(cancelled.ARN).toBe(arn);
    const afterCancel = await cli('describe-secret', '--secret-id', name);
    expect(afterCancel.RotationEnabled).toBe(false);
    expect(script?.steps()).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
  }, 180_000);
  it('reads a replica with --region: create-secret --add-replica-regions, get-secret-value and describe-secret in the replica Region, a refused write there', async (context) => {
    if (!aws) {
      if (process.env.CI === 'true') throw new Error(MISSING);
      context.skip(MISSING);
      return;
    }
    // Prepare
    const twin = await start({ region: 'us-east-1' });
    const { cli, cliError } = awsCli(aws, twin.url);
    const name = uniqueName('cli-replica');
    const value = randomCredential();
    // Act
    const created = await cli(
      'create-secret',
      '--name',
      name,
      '--secret-string',
      value,
      '--add-replica-regions',
      'Region=eu-central-1',
    );
    const read = await cli('get-secret-value', '--secret-id', name, '--region', 'eu-central-1');
    const described = await cli('describe-secret', '--secret-id', name, '--region', 'eu-central-1');
    const refused = await cliError(
      'put-secret-value',
      '--secret-id',
      name,
      '--secret-string',
      randomCredential(),
      '--region',
      'eu-central-1',
    );
    const primary = await cli('describe-secret', '--secret-id', name);
    // Assess
    expect(created.ReplicationStatus).toEqual([
      expect.objectContaining({ Region: 'eu-central-1', Status: 'InSync' }),
    ]);
    expect(read.SecretString).toBe(value);
    expect(read.ARN).toBe((created.ARN as string).replace(':us-east-1:', ':eu-central-1:'));
    expect(described.PrimaryRegion).toBe('us-east-1');
    expect(refused).toContain('InvalidParameterException');
    expect(refused).toContain('Operation not permitted on a replica secret');
    expect(primary.ReplicationStatus).toEqual([
      expect.objectContaining({ Region: 'eu-central-1', Status: 'InSync' }),
    ]);
  }, 120_000);
});
