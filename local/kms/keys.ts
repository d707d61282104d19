import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { ServiceException } from '../secrets-manager/errors.js';

// The twin's KMS: symmetric keys (SYMMETRIC_DEFAULT), each with its own random 256-bit
// secret that never leaves the twin. A ciphertext blob is
//   0x01 ‖ key id (36 ASCII bytes) ‖ IV (12) ‖ GCM tag (16) ‖ AES-256-GCM ciphertext
// with the key ARN and the canonical encryption context as additional authenticated data, so
// Decrypt finds the key from the blob alone (as KMS does for symmetric keys) and a changed
// blob or a different context fails authentication.

const BLOB_VERSION = 0x01;
const KEY_ID_BYTES = 36;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

/** Who manages a key: created by CreateKey, or by a service on first use (`alias/aws/ssm`). */
export type KeyManager = 'CUSTOMER' | 'AWS';

/** One KMS key. */
export interface KeyRecord {
  keyId: string;
  arn: string;
  region: string;
  description: string;
  keyManager: KeyManager;
  /** Epoch milliseconds. */
  createdAt: number;
  /** The key's secret (32 bytes); only ever stored wrapped by the master key. */
  material: Buffer;
}

/** One alias. */
export interface AliasRecord {
  aliasName: string;
  aliasArn: string;
  targetKeyId: string;
  region: string;
  createdAt: number;
}

/** An encryption context: string keys to string values. */
export type EncryptionContext = Record<string, string>;

/** KMS's `NotFoundException`. */
export function notFound(message: string): ServiceException {
  return new ServiceException('NotFoundException', message);
}

/** KMS's `InvalidCiphertextException` (the service sends no detail; neither does the twin). */
export function invalidCiphertext(): ServiceException {
  return new ServiceException(
    'InvalidCiphertextException',
    'The ciphertext or its encryption context is invalid.',
  );
}

function canonicalContext(context: EncryptionContext): string {
  return JSON.stringify(
    Object.keys(context)
      .sort()
      .map((name) => [name, context[name]]),
  );
}

function aad(keyArn: string, context: EncryptionContext): Buffer {
  return Buffer.from(`rotator-local-kms/v1\n${keyArn}\n${canonicalContext(context)}`, 'utf8');
}

/** The key ids, ARNs and aliases of one account, across Regions. */
export class KeyRing {
  readonly #keys = new Map<string, KeyRecord>();
  readonly #aliases = new Map<string, AliasRecord>();

  constructor(
    readonly accountId: string,
    readonly now: () => number,
  ) {}

  keyArn(region: string, keyId: string): string {
    return `arn:aws:kms:${region}:${this.accountId}:key/${keyId}`;
  }

  aliasArn(region: string, aliasName: string): string {
    return `arn:aws:kms:${region}:${this.accountId}:${aliasName}`;
  }

  /** Every key (for persistence). */
  keys(): KeyRecord[] {
    return [...this.#keys.values()];
  }

  /** Every alias (for persistence). */
  aliases(): AliasRecord[] {
    return [...this.#aliases.values()];
  }

  /** Adds records read from the state file. */
  restore(keys: KeyRecord[], aliases: AliasRecord[]): void {
    for (const key of keys) this.#keys.set(key.arn, key);
    for (const alias of aliases) this.#aliases.set(alias.aliasArn, alias);
  }

  /** CreateKey: a new symmetric key in `region`. */
  createKey(region: string, description = '', keyManager: KeyManager = 'CUSTOMER'): KeyRecord {
    const keyId = randomUUID();
    const key: KeyRecord = {
      keyId,
      arn: this.keyArn(region, keyId),
      region,
      description,
      keyManager,
      createdAt: this.now(),
      material: randomBytes(32),
    };
    this.#keys.set(key.arn, key);
    return key;
  }

  /** CreateAlias: `aliasName` (`alias/...`) for a key named by id or key ARN. */
  createAlias(region: string, aliasName: string, targetKeyId: string): AliasRecord {
    if (aliasName.length > 256 || !ALIAS_NAME.test(aliasName)) {
      throw new ServiceException(
        'InvalidAliasNameException',
        'Alias must start with the prefix "alias/" and contain only alphanumeric characters, forward slashes (/), underscores (_) and dashes (-).',
      );
    }
    if (aliasName.startsWith('alias/aws/')) {
      throw new ServiceException(
        'InvalidAliasNameException',
        'The alias/aws/ prefix is reserved for AWS managed keys.',
      );
    }
    const aliasArn = this.aliasArn(region, aliasName);
    if (this.#aliases.has(aliasArn)) {
      throw new ServiceException(
        'AlreadyExistsException',
        `An alias with the name ${aliasArn} already exists`,
      );
    }
    if (targetKeyId.startsWith('alias/') || targetKeyId.includes(':alias/')) {
      throw notFound('TargetKeyId must identify a key by key id or key ARN, not by an alias.');
    }
    const key = this.resolve(region, targetKeyId);
    const alias: AliasRecord = {
      aliasName,
      aliasArn,
      targetKeyId: key.keyId,
      region,
      createdAt: this.now(),
    };
    this.#aliases.set(aliasArn, alias);
    return alias;
  }

  /**
   * The key a `KeyId` names in `region`: key id, key ARN, alias name or alias ARN. An ARN of
   * another Region or account names nothing here.
   */
  resolve(region: string, keyId: string): KeyRecord {
    if (keyId.startsWith('alias/') || /^arn:aws[\w-]*:kms:[^:]*:\d*:alias\//.test(keyId)) {
      const aliasArn = keyId.startsWith('alias/') ? this.aliasArn(region, keyId) : keyId;
      const alias = this.#aliases.get(aliasArn);
      if (!alias || alias.region !== region) throw notFound(`Alias ${aliasArn} is not found.`);
      const key = this.#keys.get(this.keyArn(alias.region, alias.targetKeyId));
      if (!key) throw notFound(`Alias ${aliasArn} is not found.`);
      return key;
    }
    const arn = KEY_ID.test(keyId) ? this.keyArn(region, keyId) : keyId;
    const key = this.#keys.get(arn);
    if (!key || key.region !== region) {
      if (!KEY_ID.test(keyId) && !keyId.startsWith('arn:')) {
        throw notFound(`Invalid keyId '${keyId}'`);
      }
      throw notFound(`Key '${arn}' does not exist`);
    }
    return key;
  }

  /** The aliases pointing at a key. */
  aliasesOf(key: KeyRecord): AliasRecord[] {
    return [...this.#aliases.values()].filter(
      (alias) => alias.region === key.region && alias.targetKeyId === key.keyId,
    );
  }

  /**
   * The AWS managed key of a service (`alias/aws/ssm`, `alias/aws/s3`) in `region`, created on
   * first use as AWS does.
   */
  awsManagedKey(region: string, service: string): KeyRecord {
    const aliasName = `alias/aws/${service}`;
    const aliasArn = this.aliasArn(region, aliasName);
    const existing = this.#aliases.get(aliasArn);
    if (existing) return this.resolve(region, aliasArn);
    const key = this.createKey(
      region,
      `Default key that protects my ${service.toUpperCase()} data when no other key is defined`,
      'AWS',
    );
    this.#aliases.set(aliasArn, {
      aliasName,
      aliasArn,
      targetKeyId: key.keyId,
      region,
      createdAt: key.createdAt,
    });
    return key;
  }

  /** Encrypts `plaintext` under `key`, binding `context`. */
  encrypt(key: KeyRecord, plaintext: Buffer, context: EncryptionContext = {}): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(aad(key.arn, context));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([
      Buffer.from([BLOB_VERSION]),
      Buffer.from(key.keyId, 'ascii'),
      iv,
      cipher.getAuthTag(),
      data,
    ]);
  }

  /**
   * Decrypts a blob made by {@link encrypt} in `region`. A blob that is malformed, altered,
   * of another Region, or given with another context is `InvalidCiphertextException`; with
   * `expectedKeyId`, a blob of another key is `IncorrectKeyException`.
   */
  decrypt(
    region: string,
    blob: Buffer,
    context: EncryptionContext = {},
    expectedKeyId?: string,
  ): { key: KeyRecord; plaintext: Buffer } {
    if (blob.length < HEADER_BYTES || blob[0] !== BLOB_VERSION) throw invalidCiphertext();
    const keyId = blob.subarray(1, 1 + KEY_ID_BYTES).toString('ascii');
    if (!KEY_ID.test(keyId)) throw invalidCiphertext();
    const key = this.#keys.get(this.keyArn(region, keyId));
    if (!key) throw invalidCiphertext();
    if (expectedKeyId !== undefined && this.resolve(region, expectedKeyId).arn !== key.arn) {
      throw new ServiceException(
        'IncorrectKeyException',
        'The key ID in the request does not identify a KMS key that can perform this operation.',
      );
    }
    let offset = 1 + KEY_ID_BYTES;
    const iv = blob.subarray(offset, offset + IV_BYTES);
    offset += IV_BYTES;
    const tag = blob.subarray(offset, offset + TAG_BYTES);
    offset += TAG_BYTES;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, iv);
      decipher.setAAD(aad(key.arn, context));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(blob.subarray(offset)), decipher.final()]);
      return { key, plaintext };
    } catch {
      throw invalidCiphertext();
    }
  }

  /** DescribeKey's `KeyMetadata`. */
  metadata(key: KeyRecord): Record<string, unknown> {
    return {
      AWSAccountId: this.accountId,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.createdAt / 1000,
      Enabled: true,
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: key.keyManager,
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    };
  }
}
