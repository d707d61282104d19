import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { findAwsCliV2, requireAwsCli, serviceCli } from '../helpers/awsCli.js';
import { localAwsClients } from '../helpers/localAws.js';
import { randomValue, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

const dirs: string[] = [];
// Before the twins: hooks run in reverse, so the twins close before their folders go.
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const start = useLocalSecretsManager();
const aws = findAwsCliV2();
describe('local Parameter Store and S3: driven by the real AWS CLI v2', () => {
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

  it('s3api put-object with SSE-KMS, get-object and list-objects-v2 work path-style against the same endpoint', async (context) => {
    const path = requireAwsCli(aws, context);
    if (!path) return;
    // Prepare
    const twin = await start();
    const dir = mkdtempSync(join(tmpdir(), 'rotator-cli-s3-'));
    dirs.push(dir);
    const body = JSON.stringify({ password: randomValue() });
    writeFileSync(join(dir, 'in.json'), body);
    const { cli } = serviceCli(path, twin.url, 's3api');
    const bucket = `cli-${randomBytes(4).toString('hex')}`;
    // Act
    await cli('create-bucket', '--bucket', bucket);
    const put = await cli(
      'put-object',
      '--bucket',
      bucket,
      '--key',
      'conf/app.json',
      '--body',
      join(dir, 'in.json'),
      '--server-side-encryption',
      'aws:kms',
    );
    const got = await cli(
      'get-object',
      '--bucket',
      bucket,
      '--key',
      'conf/app.json',
      join(dir, 'out.json'),
    );
    const listed = await cli('list-objects-v2', '--bucket', bucket, '--prefix', 'conf/');
    // Assess
    expect(put).toMatchObject({ ServerSideEncryption: 'aws:kms' });
    expect(got).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: put.SSEKMSKeyId });
    expect(readFileSync(join(dir, 'out.json'), 'utf8')).toBe(body);
    expect(listed).toMatchObject({ Contents: [{ Key: 'conf/app.json', Size: body.length }] });
  });
});
