import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand,
  GetParameterCommand,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { localAwsClients } from '../helpers/localAws.js';
import { randomValue, uniqueName, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();

describe('local twin: one endpoint for Secrets Manager, KMS, Parameter Store and S3', () => {
  it('serves all four services from the same URL, each with its own client', async () => {
    // Prepare
    const twin = await start();
    const { kms, ssm, s3 } = localAwsClients(twin);
    const value = randomValue();
    const name = uniqueName();
    const bucket = `route-${Date.now()}`;
    // Act
    await twin.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    await ssm.send(
      new PutParameterCommand({ Name: `/${name}`, Value: value, Type: 'SecureString' }),
    );
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: name, Body: value }));
    // Assess
    const secret = await twin.client.send(new GetSecretValueCommand({ SecretId: name }));
    const parameter = await ssm.send(
      new GetParameterCommand({ Name: `/${name}`, WithDecryption: true }),
    );
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: name }));
    expect(secret.SecretString).toBe(value);
    expect(parameter.Parameter?.Value).toBe(value);
    expect(await object.Body?.transformToString()).toBe(value);
    const managed = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ssm' }));
    expect(managed.KeyMetadata?.KeyManager).toBe('AWS');
  });

  it('logs operations, names and statuses of KMS, SSM and S3 requests, never a value', async () => {
    // Prepare
    const entries: Record<string, unknown>[] = [];
    const twin = await start({ log: (entry) => entries.push(entry) });
    const { kms, ssm, s3 } = localAwsClients(twin);
    const secret = randomValue();
    const name = `/${uniqueName()}`;
    const bucket = `log-${Date.now()}`;
    // Act
    const key = await kms.send(new CreateKeyCommand({}));
    await kms.send(
      new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from(secret) }),
    );
    await ssm.send(new PutParameterCommand({ Name: name, Value: secret, Type: 'SecureString' }));
    await ssm
      .send(new PutParameterCommand({ Name: name, Value: secret, Type: 'SecureString' }))
      .catch(() => undefined);
    await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'k',
        Body: secret,
        ServerSideEncryption: 'aws:kms',
      }),
    );
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
    // Assess
    const log = JSON.stringify(entries);
    expect(log).not.toContain(secret);
    expect(log).not.toContain(Buffer.from(secret).toString('base64'));
    expect(entries).toContainEqual(
      expect.objectContaining({
        service: 'ssm',
        operation: 'PutParameter',
        resource: name,
        status: 400,
        errorType: 'ParameterAlreadyExists',
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ service: 's3', method: 'PUT', bucket, key: 'k', status: 200 }),
    );
  });

  it('answers UnsupportedOperationException for a KMS or SSM operation the twin does not implement', async () => {
    const twin = await start();
    const { kms, ssm } = localAwsClients(twin);
    await expect(kms.send(new ListKeysCommand({}))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      message: expect.stringContaining('KMS ListKeys'),
    });
    await expect(ssm.send(new DescribeParametersCommand({}))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      message: expect.stringContaining('SSM DescribeParameters'),
    });
  });

  it('implements only operations the SDK clients have (no misspelt operation names)', async () => {
    const twin = await start();
    const clients: Record<string, Record<string, unknown>> = {
      kms: await import('@aws-sdk/client-kms'),
      ssm: await import('@aws-sdk/client-ssm'),
    };
    for (const service of [twin.kms.service(), twin.ssm.service()]) {
      for (const operation of Object.keys(service.operations)) {
        expect(typeof clients[service.name]?.[`${operation}Command`], operation).toBe('function');
      }
    }
  });

  it('answers UnknownOperationException (HTTP 400, JSON __type) for a name the service does not have', async () => {
    const twin = await start();
    for (const target of ['TrentService.Nope', 'AmazonSSM.Nope']) {
      const response = await fetch(twin.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target },
        body: '{}',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
    }
  });
});
