import { randomBytes } from 'node:crypto';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { findAwsCliV2, requireAwsCli, serviceCli } from '../helpers/awsCli.js';
import { localAwsClients } from '../helpers/localAws.js';
import { randomValue, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const aws = findAwsCliV2();

describe('local Parameter Store: read by the real AWS CLI v2', () => {
  it('ssm get-parameter --with-decryption reads a SecureString the SDK wrote; without it, the ciphertext', async (context) => {
    const path = requireAwsCli(aws, context);
    if (!path) return;
    // Prepare
    const twin = await start();
    const { ssm } = localAwsClients(twin);
    const name = `/acme/cli-${randomBytes(4).toString('hex')}/db-password`;
    const secret = randomValue();
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: randomValue(), Type: 'SecureString' }),
    );
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: secret, Type: 'SecureString', Overwrite: true }),
    );
    const { cli, cliError } = serviceCli(path, twin.url, 'ssm');
    // Act
    const decrypted = await cli('get-parameter', '--name', name, '--with-decryption');
    const encrypted = await cli('get-parameter', '--name', name);
    const missing = await cliError('get-parameter', '--name', `${name}-absent`);
    // Assess
    expect(decrypted.Parameter).toMatchObject({
      Name: name,
      Type: 'SecureString',
      Value: secret,
      Version: 2,
    });
    expect(JSON.stringify(encrypted)).not.toContain(secret);
    expect(missing).toContain('ParameterNotFound');
  });
});
