import { checkRange, constraint } from '../common/input.js';
import type { JsonService } from '../common/jsonProtocol.js';
import { ServicePersistence, type ServiceStorage } from '../common/persistedService.js';
import type { LocalKms } from '../kms/index.js';
import { ServiceException, validation } from '../secrets-manager/errors.js';
import {
  type Input,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringList,
  requiredString,
} from '../secrets-manager/input.js';
import {
  checkName,
  type ParameterRecord,
  ParameterTable,
  type ParameterType,
  type ParameterVersion,
  parseReference,
} from './parameters.js';

export type { ParameterRecord, ParameterVersion } from './parameters.js';

const TYPES: readonly ParameterType[] = ['String', 'StringList', 'SecureString'];
const TIER_LIMITS: Record<string, number> = {
  Standard: 4096,
  Advanced: 8192,
  'Intelligent-Tiering': 8192,
};

/** Options of {@link LocalParameterStore}. */
export interface LocalParameterStoreOptions extends ServiceStorage {
  accountId: string;
  now: () => number;
  /** SecureString values are encrypted and decrypted through it. */
  kms: LocalKms;
}

function invalidNextToken(): ServiceException {
  return new ServiceException('InvalidNextToken', 'The specified token is not valid.');
}

function encodeToken(position: string | number): string {
  return Buffer.from(JSON.stringify({ after: position }), 'utf8').toString('base64url');
}

function decodeToken(token: string | undefined): string | number | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      after?: unknown;
    };
    if (typeof parsed.after === 'string' || typeof parsed.after === 'number') return parsed.after;
  } catch {
    // not one of ours
  }
  throw invalidNextToken();
}

/**
 * The twin's Parameter Store (`X-Amz-Target: AmazonSSM.<Operation>`): String, StringList and
 * SecureString parameters with versions, labels and history. SecureString values are
 * encrypted through the twin's KMS with the parameter ARN as encryption context, as the
 * service does, and stored only encrypted.
 */
export class LocalParameterStore {
  readonly table = new ParameterTable();
  readonly #storage: ServicePersistence<{ parameters: ParameterRecord[] }>;
  readonly #options: LocalParameterStoreOptions;

  constructor(options: LocalParameterStoreOptions) {
    this.#options = options;
    this.#storage = new ServicePersistence('ssm', options);
    const stored = this.#storage.load();
    if (stored) this.table.restore(stored.parameters);
  }

  /** Makes the parameters durable (awaited before a write is acknowledged). */
  persist(): Promise<void> {
    return this.#storage.save({ snapshot: () => ({ parameters: this.table.all() }) });
  }

  /** Waits for pending writes. */
  close(): Promise<void> {
    return this.#storage.close();
  }

  /** A parameter's ARN (`arn:aws:ssm:<region>:<account>:parameter/<name without leading />`). */
  arn(region: string, name: string): string {
    return `arn:aws:ssm:${region}:${this.#options.accountId}:parameter/${name.replace(/^\//, '')}`;
  }

  /** The value as the API returns it: SecureString decrypted only `withDecryption`. */
  value(region: string, name: string, version: ParameterVersion, withDecryption: boolean): string {
    if (version.type !== 'SecureString' || !withDecryption) return version.value;
    const { plaintext } = this.#options.kms.ring.decrypt(
      region,
      Buffer.from(version.value, 'base64'),
      { PARAMETER_ARN: this.arn(region, name) },
    );
    return plaintext.toString('utf8');
  }

  #parameter(
    region: string,
    name: string,
    version: ParameterVersion,
    withDecryption: boolean,
    selector?: string,
  ): Record<string, unknown> {
    return {
      Name: name,
      Type: version.type,
      Value: this.value(region, name, version, withDecryption),
      Version: version.version,
      ...(selector ? { Selector: selector } : {}),
      LastModifiedDate: version.modifiedAt / 1000,
      ARN: this.arn(region, name),
      DataType: version.dataType,
    };
  }

  async #putParameter(input: Input, region: string): Promise<Record<string, unknown>> {
    const name = requiredString(input, 'Name', { min: 1, max: 2048 });
    checkName(name);
    const value = requiredString(input, 'Value');
    const overwrite = optionalBoolean(input, 'Overwrite') ?? false;
    const existing = this.table.find(region, name);
    const latest = existing?.versions.at(-1);
    if (latest && !overwrite) {
      throw new ServiceException(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    const givenType = optionalString(input, 'Type');
    if (givenType !== undefined && !TYPES.includes(givenType as ParameterType)) {
      throw constraint(
        'type',
        'Member must satisfy enum value set: [SecureString, StringList, String]',
      );
    }
    const type = (givenType ?? latest?.type) as ParameterType | undefined;
    if (!type) throw validation('A parameter type is required when you create a parameter.');
    if (overwrite && input.Tags !== undefined && existing) {
      throw validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      );
    }
    const tier = optionalString(input, 'Tier') ?? latest?.tier ?? 'Standard';
    const limit = TIER_LIMITS[tier];
    if (limit === undefined) {
      throw constraint(
        'tier',
        'Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]',
      );
    }
    if (value.length < 1 || Buffer.byteLength(value) > limit) {
      throw validation(
        `Parameter value must be between 1 and ${limit} bytes for the ${tier} tier.`,
      );
    }
    const allowedPattern = optionalString(input, 'AllowedPattern', { max: 1024 });
    let pattern: RegExp | undefined;
    try {
      pattern = allowedPattern === undefined ? undefined : new RegExp(allowedPattern);
    } catch {
      throw validation('AllowedPattern is not a valid regular expression.');
    }
    if (pattern && !pattern.test(value)) {
      throw new ServiceException(
        'ParameterPatternMismatchException',
        `Parameter value, cannot be validated against allowedPattern: ${allowedPattern}`,
      );
    }
    const keyIdInput = optionalString(input, 'KeyId', { min: 1, max: 256 });
    if (keyIdInput !== undefined && type !== 'SecureString') {
      throw validation('KeyId is required for SecureString type parameter only.');
    }
    let stored = value;
    let keyId: string | undefined;
    let keyArn: string | undefined;
    if (type === 'SecureString') {
      const kms = this.#options.kms;
      // As the API reference says: without KeyId, the account's default key (alias/aws/ssm).
      keyId = keyIdInput;
      let key: ReturnType<typeof kms.ring.resolve>;
      if (keyId === undefined || keyId === 'alias/aws/ssm') {
        keyId = 'alias/aws/ssm';
        key = await kms.managedKey(region, 'ssm');
      } else {
        try {
          key = kms.ring.resolve(region, keyId);
        } catch {
          throw new ServiceException('InvalidKeyId', `The KMS key ${keyId} is not valid.`);
        }
      }
      keyArn = key.arn;
      stored = kms.ring
        .encrypt(key, Buffer.from(value, 'utf8'), { PARAMETER_ARN: this.arn(region, name) })
        .toString('base64');
    }
    const description = optionalString(input, 'Description', { max: 1024 }) ?? latest?.description;
    const added = this.table.put(region, name, {
      type,
      value: stored,
      ...(keyId !== undefined ? { keyId } : {}),
      ...(keyArn !== undefined ? { keyArn } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(allowedPattern !== undefined ? { allowedPattern } : {}),
      tier,
      dataType: optionalString(input, 'DataType') ?? 'text',
      modifiedAt: this.#options.now(),
      modifiedBy: `arn:aws:iam::${this.#options.accountId}:root`,
    });
    await this.persist();
    return { Version: added.version, Tier: tier };
  }

  #getParameter(input: Input, region: string): Record<string, unknown> {
    const reference = parseReference(requiredString(input, 'Name', { min: 1, max: 2048 }));
    const version = this.table.resolve(region, reference);
    return {
      Parameter: this.#parameter(
        region,
        reference.name,
        version,
        optionalBoolean(input, 'WithDecryption') ?? false,
        reference.selector,
      ),
    };
  }

  #getParameters(input: Input, region: string): Record<string, unknown> {
    const names = optionalStringList(input, 'Names') ?? [];
    if (names.length < 1 || names.length > 10) {
      throw constraint(
        'names',
        'Member must have length less than or equal to 10 and greater than or equal to 1',
      );
    }
    const withDecryption = optionalBoolean(input, 'WithDecryption') ?? false;
    const parameters: Record<string, unknown>[] = [];
    const invalid: string[] = [];
    for (const raw of [...new Set(names)]) {
      const reference = parseReference(raw);
      try {
        const version = this.table.resolve(region, reference);
        parameters.push(
          this.#parameter(region, reference.name, version, withDecryption, reference.selector),
        );
      } catch (error) {
        if (!(error instanceof ServiceException)) throw error;
        invalid.push(raw);
      }
    }
    return { Parameters: parameters, InvalidParameters: invalid };
  }

  #getParametersByPath(input: Input, region: string): Record<string, unknown> {
    const path = requiredString(input, 'Path', { min: 1, max: 2048 });
    if (!path.startsWith('/')) {
      throw validation(
        'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
      );
    }
    if (input.ParameterFilters !== undefined) {
      throw new ServiceException(
        'UnsupportedOperationException',
        'The local Parameter Store does not implement ParameterFilters (docs/local-twin.md, "Differences from AWS").',
      );
    }
    const max = optionalInteger(input, 'MaxResults') ?? 10;
    checkRange('maxResults', max, 1, 10);
    const after = decodeToken(optionalString(input, 'NextToken'));
    const withDecryption = optionalBoolean(input, 'WithDecryption') ?? false;
    const all = this.table
      .underPath(region, path, optionalBoolean(input, 'Recursive') ?? false)
      .filter((record) => after === undefined || record.name > String(after));
    const page = all.slice(0, max);
    const last = page.at(-1);
    return {
      Parameters: page.map((record) =>
        this.#parameter(
          region,
          record.name,
          record.versions.at(-1) as ParameterVersion,
          withDecryption,
        ),
      ),
      ...(all.length > max && last ? { NextToken: encodeToken(last.name) } : {}),
    };
  }

  #getParameterHistory(input: Input, region: string): Record<string, unknown> {
    const name = requiredString(input, 'Name', { min: 1, max: 2048 });
    const record = this.table.get(region, name);
    const max = optionalInteger(input, 'MaxResults') ?? 50;
    checkRange('maxResults', max, 1, 50);
    const after = decodeToken(optionalString(input, 'NextToken'));
    const withDecryption = optionalBoolean(input, 'WithDecryption') ?? false;
    const all = record.versions.filter((v) => after === undefined || v.version > Number(after));
    const page = all.slice(0, max);
    const last = page.at(-1);
    return {
      Parameters: page.map((v) => ({
        Name: name,
        Type: v.type,
        ...(v.keyId !== undefined ? { KeyId: v.keyId } : {}),
        LastModifiedDate: v.modifiedAt / 1000,
        LastModifiedUser: v.modifiedBy,
        ...(v.description !== undefined ? { Description: v.description } : {}),
        Value: this.value(region, name, v, withDecryption),
        ...(v.allowedPattern !== undefined ? { AllowedPattern: v.allowedPattern } : {}),
        Version: v.version,
        Labels: [...v.labels],
        Tier: v.tier,
        Policies: [],
        DataType: v.dataType,
      })),
      ...(all.length > max && last ? { NextToken: encodeToken(last.version) } : {}),
    };
  }

  async #labelParameterVersion(input: Input, region: string): Promise<Record<string, unknown>> {
    const name = requiredString(input, 'Name', { min: 1, max: 2048 });
    const labels = optionalStringList(input, 'Labels') ?? [];
    if (labels.length < 1 || labels.length > 10) {
      throw constraint(
        'labels',
        'Member must have length less than or equal to 10 and greater than or equal to 1',
      );
    }
    const { version, invalid } = this.table.label(
      region,
      name,
      labels,
      optionalInteger(input, 'ParameterVersion'),
    );
    await this.persist();
    return { InvalidLabels: invalid, ParameterVersion: version };
  }

  /** The JSON 1.1 service. */
  service(): JsonService {
    return {
      prefix: 'AmazonSSM.',
      name: 'ssm',
      sdkModule: '@aws-sdk/client-ssm',
      resourceMember: (input) => (typeof input.Name === 'string' ? input.Name : undefined),
      operations: {
        PutParameter: (input, { region }) => this.#putParameter(input, region),
        GetParameter: (input, { region }) => this.#getParameter(input, region),
        GetParameters: (input, { region }) => this.#getParameters(input, region),
        GetParametersByPath: (input, { region }) => this.#getParametersByPath(input, region),
        GetParameterHistory: (input, { region }) => this.#getParameterHistory(input, region),
        LabelParameterVersion: (input, { region }) => this.#labelParameterVersion(input, region),
        DeleteParameter: async (input, { region }) => {
          this.table.delete(region, requiredString(input, 'Name', { min: 1, max: 2048 }));
          await this.persist();
          return {};
        },
      },
    };
  }
}
