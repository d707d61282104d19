import { describe, expect, it } from 'vitest';
import { findAwsCliV2, requireAwsCli, secretsManagerCli } from '../helpers/awsCli.js';
import {
  randomCredential,
  uniqueName,
  useLocalSecretsManager,
} from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const aws = findAwsCliV2();

function policy(principal: unknown): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: principal,
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
      },
    ],
  });
}

describe('local Secrets Manager: resource policies driven by the real AWS CLI v2', () => {
  it('validate-resource-policy, put-resource-policy (--block-public-policy), get-resource-policy, delete-resource-policy, delete-secret --force-delete-without-recovery on a missing secret', async (context) => {
    const path = requireAwsCli(aws, context);
    if (!path) return;
    // Prepare
    const twin = await start();
    const { cli, cliError } = secretsManagerCli(path, twin.url);
    const name = uniqueName('cli-policy');
    const created = await cli(
      'create-secret',
      '--name',
      name,
      '--secret-string',
      randomCredential(),
    );
    const named = policy({ AWS: 'arn:aws:iam::444455556666:root' });
    const everyone = policy('*');

    // Act + Assess, one command at a time
    const valid = await cli('validate-resource-policy', '--resource-policy', named);
    expect(valid).toEqual({ PolicyValidationPassed: true, ValidationErrors: [] });
    const broad = await cli(
      'validate-resource-policy',
      '--secret-id',
      name,
      '--resource-policy',
      everyone,
    );
    expect(broad.PolicyValidationPassed).toBe(false);
    expect((broad.ValidationErrors as { CheckName: string }[])[0]?.CheckName).toBe(
      'BROAD_ACCESS_CHECK',
    );

    const putArgs = (text: string) => [
      'put-resource-policy',
      '--secret-id',
      name,
      '--resource-policy',
      text,
    ];
    const blocked = await cliError(...putArgs(everyone), '--block-public-policy');
    expect(blocked).toContain('PublicPolicyException');
    const malformed = await cliError(...putArgs('{"Version":"2012-10-17"}'));
    expect(malformed).toContain('MalformedPolicyDocumentException');

    const put = await cli(...putArgs(named), '--block-public-policy');
    expect(put).toEqual({ ARN: created.ARN, Name: name });
    const got = await cli('get-resource-policy', '--secret-id', name);
    expect(got).toEqual({ ARN: created.ARN, Name: name, ResourcePolicy: named });

    const deleted = await cli('delete-resource-policy', '--secret-id', name);
    expect(deleted).toEqual({ ARN: created.ARN, Name: name });
    expect(await cli('get-resource-policy', '--secret-id', name)).toEqual({
      ARN: created.ARN,
      Name: name,
    });

    const missing = uniqueName('cli-missing');
    const forced = await cli(
      'delete-secret',
      '--secret-id',
      missing,
      '--force-delete-without-recovery',
    );
    expect(forced.Name).toBe(missing);
    const notForced = await cliError('delete-secret', '--secret-id', missing);
    expect(notForced).toContain('ResourceNotFoundException');
  }, 180_000);
});
