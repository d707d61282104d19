import { describe, expect, it } from 'vitest';
import { findAwsCliV2, requireAwsCli, secretsManagerCli } from '../helpers/awsCli.js';
import {
  randomCredential,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
} from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const aws = findAwsCliV2();

describe('local Secrets Manager: driven by the real AWS CLI v2', () => {
  it('create-secret, put-secret-value, describe-secret, update-secret-version-stage, rotate-secret, get-random-password, cancel-rotate-secret', async (context) => {
    const path = requireAwsCli(aws, context);
    if (!path) return;
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
    const { cli, cliError } = secretsManagerCli(path, twin.url);
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
    const path = requireAwsCli(aws, context);
    if (!path) return;
    // Prepare
    const twin = await start({ region: 'us-east-1' });
    const { cli, cliError } = secretsManagerCli(path, twin.url);
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
