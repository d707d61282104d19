import { CreateAliasCommand, CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, readEnvelope } from '../../consumer/index.js';
import { randomSuffix } from '../helpers/credentials.js';
import { localAwsClients } from '../helpers/localAws.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import { CLI_TEST_TIMEOUT_MS, randomValue, runCli, uniqueName } from './cli-harness.js';

// `npx rotator reconcile [--apply]` as a subprocess against the local twin, for a secret
// whose tags declare a Parameter Store, a JSON, a .env and an envelope target.

const start = useLocalSecretsManager();

async function objectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

interface Report {
  healthy: boolean;
  syncTargets: { tag: string; found: string; repaired: boolean; error?: string }[];
}

describe('rotator reconcile with sync targets', () => {
  it(
    'finds stale and missing targets (exit 1), repairs them with --apply keeping other fields, then finds them in step',
    async () => {
      // Prepare
      const twin = await start();
      const { kms, s3, ssm } = localAwsClients(twin);
      const key = await kms.send(new CreateKeyCommand({}));
      const alias = `alias/sync-${randomSuffix()}`;
      await kms.send(
        new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata?.KeyId }),
      );
      const bucket = `cfg-${randomSuffix().toLowerCase()}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const parameter = `/acme/${randomSuffix()}/db-password`;
      const password = randomValue();
      const stale = randomValue();
      const name = uniqueName('sync');
      await twin.newClient().send(
        new CreateSecretCommand({
          Name: name,
          SecretString: JSON.stringify({ username: 'app', password }),
          Tags: [
            { Key: 'rotator:sync:ssm:db', Value: `name=${parameter} field=password key=${alias}` },
            {
              Key: 'rotator:sync:s3:json',
              Value: `bucket=${bucket} key=app.json format=json pointer=/db/password field=password kms=${alias}`,
            },
            {
              Key: 'rotator:sync:s3:env',
              Value: `bucket=${bucket} key=app.env format=env var=DB_PASSWORD field=password kms=${alias}`,
            },
            {
              Key: 'rotator:sync:s3:sealed',
              Value: `bucket=${bucket} key=db.envelope format=envelope field=password kms=${alias}`,
            },
          ],
        }),
      );
      await ssm.send(
        new PutParameterCommand({ Name: parameter, Value: stale, Type: 'SecureString' }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'app.json',
          Body: JSON.stringify({ db: { password: stale, pool: 5 }, name: 'svc' }),
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'app.env',
          Body: `# service\nDB_HOST=db\nDB_PASSWORD=${stale}\n`,
        }),
      );

      // Act
      const found = await runCli(twin, ['reconcile', name, '--json']);
      const text = await runCli(twin, ['reconcile', name]);
      const applied = await runCli(twin, ['reconcile', name, '--apply', '--json']);
      const after = await runCli(twin, ['reconcile', name, '--json']);

      // Assess
      expect(found.code, found.stderr).toBe(1);
      const before = JSON.parse(found.stdout) as Report;
      expect(before.healthy).toBe(false);
      expect(before.syncTargets.map((t) => [t.tag, t.found, t.repaired])).toEqual([
        ['rotator:sync:s3:env', 'stale', false],
        ['rotator:sync:s3:json', 'stale', false],
        ['rotator:sync:s3:sealed', 'missing', false],
        ['rotator:sync:ssm:db', 'stale', false],
      ]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`stale: ssm:${parameter} does not hold AWSCURRENT`);
      expect(text.stdout).toContain(`reconcile ${name} --apply`);
      expect(applied.code, applied.stderr).toBe(0);
      expect((JSON.parse(applied.stdout) as Report).syncTargets.every((t) => t.repaired)).toBe(
        true,
      );
      expect(after.code, after.stderr).toBe(0);
      expect((JSON.parse(after.stdout) as Report).syncTargets.map((t) => t.found)).toEqual([
        'in-step',
        'in-step',
        'in-step',
        'in-step',
      ]);
      const read = await ssm.send(
        new GetParameterCommand({ Name: parameter, WithDecryption: true }),
      );
      expect(read.Parameter?.Value).toBe(password);
      expect(read.Parameter?.Version).toBe(2);
      expect(JSON.parse(await objectText(s3, bucket, 'app.json'))).toEqual({
        db: { password, pool: 5 },
        name: 'svc',
      });
      expect(await objectText(s3, bucket, 'app.env')).toBe(
        `# service\nDB_HOST=db\nDB_PASSWORD=${password}\n`,
      );
      for (const run of [found, text, applied, after]) {
        expect(`${run.stdout}${run.stderr}`.includes(password)).toBe(false);
        expect(`${run.stdout}${run.stderr}`.includes(stale)).toBe(false);
      }

      // The envelope: no plaintext in the object; the consumer reads it with kms:Decrypt.
      const sealed = await objectText(s3, bucket, 'db.envelope');
      expect(sealed.includes(password)).toBe(false);
      const envelope = JSON.parse(sealed) as Record<string, string>;
      expect(envelope).toMatchObject({ v: 1, alg: 'AES-256-GCM', kmsKeyId: key.KeyMetadata?.Arn });
      expect(Buffer.from(envelope.iv ?? '', 'base64')).toHaveLength(12);
      expect(Buffer.from(envelope.tag ?? '', 'base64')).toHaveLength(16);
      expect(await readEnvelope({ s3, kms, bucket, key: 'db.envelope' })).toBe(password);
      // The data key is bound to its object: copied elsewhere, the envelope does not open.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy.envelope', Body: sealed }));
      await expect(readEnvelope({ s3, kms, bucket, key: 'copy.envelope' })).rejects.toMatchObject({
        name: 'InvalidCiphertextException',
      });
      // A flipped ciphertext byte fails authentication.
      const tampered = Buffer.from(envelope.ciphertext ?? '', 'base64');
      tampered[0] = (tampered[0] ?? 0) ^ 1;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'db.envelope',
          Body: JSON.stringify({ ...envelope, ciphertext: tampered.toString('base64') }),
        }),
      );
      await expect(readEnvelope({ s3, kms, bucket, key: 'db.envelope' })).rejects.toBeInstanceOf(
        EnvelopeError,
      );
      // Decrypting the data key without the object's context is refused by KMS.
      await expect(
        kms.send(
          new DecryptCommand({
            CiphertextBlob: Buffer.from(envelope.encryptedDataKey ?? '', 'base64'),
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
