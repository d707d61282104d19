import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidAliasNameException,
  InvalidCiphertextException,
  type KMSClient,
  NotFoundException,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { localAwsClients } from '../helpers/localAws.js';
import { useLocalSecretsManager, useTempDirs } from '../helpers/localSecretsManager.js';

const tempDir = useTempDirs('rotator-kms-');
const start = useLocalSecretsManager();
const alias = () => `alias/test/${randomBytes(6).toString('hex')}`;

async function newKey(kms: KMSClient, aliasName?: string) {
  const created = await kms.send(new CreateKeyCommand({ Description: 'test key' }));
  const keyId = created.KeyMetadata?.KeyId as string;
  if (aliasName)
    await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
  return { keyId, arn: created.KeyMetadata?.Arn as string };
}

describe('local KMS through the AWS SDK v3 (same endpoint as Secrets Manager)', () => {
  it('CreateKey returns the metadata of an enabled symmetric customer managed key', async () => {
    // Prepare
    const twin = await start({ region: 'eu-west-1', accountId: '210987654321' });
    const { kms } = localAwsClients(twin);
    // Act
    const created = await kms.send(new CreateKeyCommand({ Description: 'sync key' }));
    // Assess
    const meta = created.KeyMetadata;
    expect(meta?.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(meta?.Arn).toBe(`arn:aws:kms:eu-west-1:210987654321:key/${meta?.KeyId}`);
    expect(meta).toMatchObject({
      AWSAccountId: '210987654321',
      Description: 'sync key',
      Enabled: true,
      KeyState: 'Enabled',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyManager: 'CUSTOMER',
      Origin: 'AWS_KMS',
    });
    expect(meta?.CreationDate).toBeInstanceOf(Date);
  });

  it('DescribeKey finds a key by key id, key ARN, alias name and alias ARN', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const name = alias();
    const { keyId, arn } = await newKey(kms, name);
    const aliasArn = `arn:aws:kms:${twin.region}:${twin.accountId}:${name}`;
    for (const id of [keyId, arn, name, aliasArn]) {
      const described = await kms.send(new DescribeKeyCommand({ KeyId: id }));
      expect(described.KeyMetadata?.KeyId, id).toBe(keyId);
    }
  });

  it('answers NotFoundException for an unknown key id, alias, or a key of another Region', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const { arn } = await newKey(kms);
    const other = localAwsClients(twin, 'eu-central-1').kms;
    for (const [client, id] of [
      [kms, '00000000-0000-4000-8000-000000000000'],
      [kms, 'alias/does-not-exist'],
      [other, arn],
    ] as const) {
      await expect(client.send(new DescribeKeyCommand({ KeyId: id }))).rejects.toBeInstanceOf(
        NotFoundException,
      );
    }
  });

  it('CreateAlias refuses an existing alias (AlreadyExistsException) and the reserved alias/aws/ prefix', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const name = alias();
    const { keyId } = await newKey(kms, name);
    await expect(
      kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
    ).rejects.toBeInstanceOf(AlreadyExistsException);
    for (const bad of ['alias/aws/mine', 'not-an-alias', 'alias/sp ace']) {
      await expect(
        kms.send(new CreateAliasCommand({ AliasName: bad, TargetKeyId: keyId })),
      ).rejects.toBeInstanceOf(InvalidAliasNameException);
    }
    await expect(
      kms.send(
        new CreateAliasCommand({
          AliasName: alias(),
          TargetKeyId: '00000000-0000-4000-8000-000000000000',
        }),
      ),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('Encrypt then Decrypt (by alias, with an encryption context) returns the plaintext and the key ARN', async () => {
    // Prepare
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const name = alias();
    const { arn } = await newKey(kms, name);
    const plaintext = randomBytes(48);
    const context = { purpose: 'test', secret: 'app/db' };
    // Act
    const encrypted = await kms.send(
      new EncryptCommand({ KeyId: name, Plaintext: plaintext, EncryptionContext: context }),
    );
    const decrypted = await kms.send(
      new DecryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        EncryptionContext: { secret: 'app/db', purpose: 'test' },
      }),
    );
    // Assess
    expect(encrypted.KeyId).toBe(arn);
    expect(encrypted.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(Buffer.from(encrypted.CiphertextBlob as Uint8Array).includes(plaintext)).toBe(false);
    expect(Buffer.from(decrypted.Plaintext as Uint8Array).equals(plaintext)).toBe(true);
    expect(decrypted.KeyId).toBe(arn);
  });

  it('Decrypt with a different, missing or extra encryption context fails with InvalidCiphertextException', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const { keyId } = await newKey(kms);
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: randomBytes(16),
        EncryptionContext: { tenant: 'a' },
      }),
    );
    for (const EncryptionContext of [{ tenant: 'b' }, undefined, { tenant: 'a', extra: 'x' }] as (
      | Record<string, string>
      | undefined
    )[]) {
      await expect(
        kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })),
      ).rejects.toBeInstanceOf(InvalidCiphertextException);
    }
  });

  it('Decrypt of an altered or foreign blob fails with InvalidCiphertextException', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const { keyId } = await newKey(kms);
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(16) }),
    );
    const altered = Buffer.from(CiphertextBlob as Uint8Array);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    for (const blob of [altered, randomBytes(80)]) {
      await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toBeInstanceOf(
        InvalidCiphertextException,
      );
    }
  });

  it('Decrypt with the KeyId of another key fails with IncorrectKeyException', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const first = await newKey(kms);
    const second = await newKey(kms);
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: first.keyId, Plaintext: randomBytes(16) }),
    );
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob, KeyId: second.keyId })),
    ).rejects.toBeInstanceOf(IncorrectKeyException);
    const ok = await kms.send(new DecryptCommand({ CiphertextBlob, KeyId: first.arn }));
    expect(ok.KeyId).toBe(first.arn);
  });

  it('GenerateDataKey returns a data key of KeySpec or NumberOfBytes length and its ciphertext, which Decrypt opens', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const name = alias();
    await newKey(kms, name);
    const context = { 'aws:s3:arn': 'arn:aws:s3:::bucket/key' };
    for (const [request, length] of [
      [{ KeySpec: 'AES_256' as const }, 32],
      [{ KeySpec: 'AES_128' as const }, 16],
      [{ NumberOfBytes: 64 }, 64],
    ] as const) {
      const generated = await kms.send(
        new GenerateDataKeyCommand({ KeyId: name, EncryptionContext: context, ...request }),
      );
      expect(generated.Plaintext?.length).toBe(length);
      const opened = await kms.send(
        new DecryptCommand({
          CiphertextBlob: generated.CiphertextBlob,
          EncryptionContext: context,
        }),
      );
      expect(Buffer.from(opened.Plaintext as Uint8Array)).toEqual(
        Buffer.from(generated.Plaintext as Uint8Array),
      );
    }
  });

  it('GenerateDataKey with both or neither of KeySpec and NumberOfBytes is a ValidationException', async () => {
    const twin = await start();
    const { kms } = localAwsClients(twin);
    const { keyId } = await newKey(kms);
    for (const request of [{ KeySpec: 'AES_256' as const, NumberOfBytes: 32 }, {}]) {
      await expect(
        kms.send(new GenerateDataKeyCommand({ KeyId: keyId, ...request })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    }
    await expect(
      kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 1025 })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('keeps keys across a restart, their secrets sealed under the master key', async () => {
    // Prepare
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const first = await start({ statePath, masterKey });
    const name = alias();
    const kms1 = localAwsClients(first).kms;
    await newKey(kms1, name);
    const plaintext = randomBytes(32);
    const { CiphertextBlob } = await kms1.send(
      new EncryptCommand({ KeyId: name, Plaintext: plaintext }),
    );
    await first.close();
    // Act
    const second = await start({ statePath, masterKey });
    const decrypted = await localAwsClients(second).kms.send(
      new DecryptCommand({ CiphertextBlob }),
    );
    // Assess
    expect(Buffer.from(decrypted.Plaintext as Uint8Array).equals(plaintext)).toBe(true);
    const file = readFileSync(`${statePath}.kms`, 'utf8');
    expect(file).not.toContain(name);
    await second.close();
    await expect(start({ statePath, masterKey: randomBytes(32) })).rejects.toThrow(/master key/);
  });
});
