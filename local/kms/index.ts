import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { checkRange, optionalStringMap, requiredBlob } from '../common/input.js';
import type { JsonService } from '../common/jsonProtocol.js';
import { ServicePersistence, type ServiceStorage } from '../common/persistedService.js';
import { ServiceException, validation } from '../secrets-manager/errors.js';
import {
  type Input,
  optionalInteger,
  optionalString,
  requiredString,
} from '../secrets-manager/input.js';
import { type AliasRecord, type KeyRecord, KeyRing } from './keys.js';

export type { AliasRecord, EncryptionContext, KeyRecord } from './keys.js';
export { KeyRing } from './keys.js';

interface PersistedKey extends Omit<KeyRecord, 'material'> {
  /** The key's secret wrapped by the master key: base64 of IV ‖ tag ‖ ciphertext. */
  wrappedMaterial: string;
}

interface PersistedKms {
  keys: PersistedKey[];
  aliases: AliasRecord[];
}

function materialAad(arn: string): Buffer {
  return Buffer.from(`rotator-local-kms/key-material\n${arn}`, 'utf8');
}

function wrap(masterKey: Buffer, key: KeyRecord): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(materialAad(key.arn));
  const data = Buffer.concat([cipher.update(key.material), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
}

function unwrap(masterKey: Buffer, key: PersistedKey): Buffer {
  const bytes = Buffer.from(key.wrappedMaterial, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(0, 12));
  decipher.setAAD(materialAad(key.arn));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
}

/** Options of {@link LocalKms}. */
export interface LocalKmsOptions extends ServiceStorage {
  accountId: string;
  now: () => number;
}

/**
 * The twin's KMS: symmetric keys, aliases, Encrypt/Decrypt/GenerateDataKey. Parameter Store
 * and S3 encrypt through it. Key secrets are kept wrapped by the master key in a sealed file.
 */
export class LocalKms {
  readonly ring: KeyRing;
  readonly #storage: ServicePersistence<PersistedKms>;
  readonly #masterKey: Buffer | undefined;

  constructor(options: LocalKmsOptions) {
    this.ring = new KeyRing(options.accountId, options.now);
    this.#storage = new ServicePersistence('kms', options);
    this.#masterKey = options.masterKey;
    const stored = this.#storage.load();
    if (stored && this.#masterKey) {
      const masterKey = this.#masterKey;
      this.ring.restore(
        stored.keys.map(({ wrappedMaterial, ...rest }) => ({
          ...rest,
          material: unwrap(masterKey, { wrappedMaterial, ...rest }),
        })),
        stored.aliases,
      );
    }
  }

  /** Makes the key ring durable (awaited before a write is acknowledged). */
  persist(): Promise<void> {
    const masterKey = this.#masterKey;
    // Without a master key there is no state file, and save() writes nothing.
    if (!masterKey) return Promise.resolve();
    return this.#storage.save({
      snapshot: () => ({
        keys: this.ring.keys().map((key): PersistedKey => {
          const { material: _secret, ...metadata } = key;
          return { ...metadata, wrappedMaterial: wrap(masterKey, key) };
        }),
        aliases: this.ring.aliases(),
      }),
    });
  }

  /**
   * The AWS managed key of `service` in `region`, made durable when it was just created.
   */
  async managedKey(region: string, service: string): Promise<KeyRecord> {
    const before = this.ring.keys().length;
    const key = this.ring.awsManagedKey(region, service);
    if (this.ring.keys().length !== before) await this.persist();
    return key;
  }

  /** Waits for pending writes. */
  close(): Promise<void> {
    return this.#storage.close();
  }

  /** The JSON 1.1 service (`X-Amz-Target: TrentService.<Operation>`). */
  service(): JsonService {
    const ring = this.ring;
    const write =
      (run: (input: Input, region: string) => Record<string, unknown>) =>
      async (input: Input, { region }: { region: string }) => {
        const output = run(input, region);
        await this.persist();
        return output;
      };
    return {
      prefix: 'TrentService.',
      name: 'kms',
      sdkModule: '@aws-sdk/client-kms',
      resourceMember: (input) =>
        typeof input.KeyId === 'string'
          ? input.KeyId
          : typeof input.AliasName === 'string'
            ? input.AliasName
            : undefined,
      operations: {
        CreateKey: write((input, region) => {
          const usage = optionalString(input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
          const spec =
            optionalString(input, 'KeySpec') ??
            optionalString(input, 'CustomerMasterKeySpec') ??
            'SYMMETRIC_DEFAULT';
          if (usage !== 'ENCRYPT_DECRYPT' || spec !== 'SYMMETRIC_DEFAULT') {
            throw new ServiceException(
              'UnsupportedOperationException',
              'The local KMS creates only symmetric ENCRYPT_DECRYPT keys (SYMMETRIC_DEFAULT).',
            );
          }
          const description = optionalString(input, 'Description', { max: 8192 }) ?? '';
          return { KeyMetadata: ring.metadata(ring.createKey(region, description)) };
        }),
        CreateAlias: write((input, region) => {
          ring.createAlias(
            region,
            requiredString(input, 'AliasName', { min: 1, max: 256 }),
            requiredString(input, 'TargetKeyId', { min: 1, max: 2048 }),
          );
          return {};
        }),
        DescribeKey: (input, { region }) => ({
          KeyMetadata: ring.metadata(
            ring.resolve(region, requiredString(input, 'KeyId', { min: 1, max: 2048 })),
          ),
        }),
        Encrypt: (input, { region }) => {
          const key = ring.resolve(region, requiredString(input, 'KeyId', { min: 1, max: 2048 }));
          checkAlgorithm(input);
          const plaintext = requiredBlob(input, 'Plaintext', { min: 1, max: 4096 });
          const blob = ring.encrypt(key, plaintext, optionalStringMap(input, 'EncryptionContext'));
          return {
            CiphertextBlob: blob.toString('base64'),
            KeyId: key.arn,
            EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
          };
        },
        Decrypt: (input, { region }) => {
          checkAlgorithm(input);
          const blob = requiredBlob(input, 'CiphertextBlob', { min: 1, max: 6144 });
          const expected = optionalString(input, 'KeyId', { min: 1, max: 2048 });
          const { key, plaintext } = ring.decrypt(
            region,
            blob,
            optionalStringMap(input, 'EncryptionContext'),
            expected,
          );
          return {
            KeyId: key.arn,
            Plaintext: plaintext.toString('base64'),
            EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
          };
        },
        GenerateDataKey: (input, { region }) => {
          const key = ring.resolve(region, requiredString(input, 'KeyId', { min: 1, max: 2048 }));
          const bytes = dataKeyLength(input);
          const plaintext = randomBytes(bytes);
          const blob = ring.encrypt(key, plaintext, optionalStringMap(input, 'EncryptionContext'));
          return {
            CiphertextBlob: blob.toString('base64'),
            Plaintext: plaintext.toString('base64'),
            KeyId: key.arn,
          };
        },
      },
    };
  }
}

function checkAlgorithm(input: Input): void {
  const algorithm = optionalString(input, 'EncryptionAlgorithm');
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new ServiceException(
      'InvalidKeyUsageException',
      `The encryption algorithm ${algorithm} is not supported by a symmetric key.`,
    );
  }
}

/** GenerateDataKey's length: exactly one of `KeySpec` (AES_256, AES_128) or `NumberOfBytes`. */
function dataKeyLength(input: Input): number {
  const spec = optionalString(input, 'KeySpec');
  const bytes = optionalInteger(input, 'NumberOfBytes');
  if (spec !== undefined && bytes !== undefined) {
    throw validation('Please specify either number of bytes or key spec.');
  }
  if (spec === undefined && bytes === undefined) {
    throw validation('Please specify either number of bytes or key spec.');
  }
  if (spec !== undefined) {
    if (spec === 'AES_256') return 32;
    if (spec === 'AES_128') return 16;
    throw validation(
      `1 validation error detected: Value '${spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`,
    );
  }
  checkRange('NumberOfBytes', bytes, 1, 1024);
  return bytes as number;
}
