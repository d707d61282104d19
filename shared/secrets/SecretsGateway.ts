import {
  BatchGetSecretValueCommand,
  type BatchGetSecretValueCommandOutput,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecretFormatError, SecretsManagerError } from '../errors.js';
import type { PasswordPolicy } from './passwords.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from './retry.js';
import { VersionCache } from './VersionCache.js';

/** The staging labels the protocol works with. */
export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/**
 * A version's value as the engine handles it: its `SecretString`, or its `SecretBinary` as
 * base64 text (`binary: true`), so strategies always work with text.
 */
export interface VersionValue {
  readonly text: string;
  readonly binary: boolean;
}

/** What the engine needs from `DescribeSecret`. */
export interface SecretDescription {
  arn: string;
  name: string;
  /** `undefined` when the service omits it (AWS's functions tolerate that). */
  rotationEnabled: boolean | undefined;
  /** Version id → staging labels, for labelled versions only. */
  versions: ReadonlyMap<string, readonly string[]>;
  /** The secret's tags (key → value); sync targets are declared there (shared/sync/). */
  tags: ReadonlyMap<string, string>;
}

/** A pending version read with its labels ({@link SecretsGateway.getPendingVersion}). */
export interface PendingVersion {
  arn: string;
  value: VersionValue;
  /** Every label of the version (`AWSPENDING` among them). */
  stages: readonly string[];
}

/** A secret's `AWSCURRENT` version read by its label ({@link SecretsGateway.getCurrentVersion}). */
export interface CurrentVersion {
  /** Absent only if the service's answer omits it. */
  versionId: string | undefined;
  value: VersionValue;
}

/** Options for {@link SecretsGateway}. */
export interface SecretsGatewayOptions {
  client: SecretsManagerClient;
  retry?: RetryPolicy;
  /** Shared across invocations of a warm container; pass `null` to disable. */
  cache?: VersionCache | null;
  /** Called with every secret value read, stored or generated, before anything else sees it. */
  onSecretValue?: (value: VersionValue) => void;
  /** Called before a retry, for logging. */
  onRetry?: (operation: string, error: unknown, attempt: number) => void;
}

const processCache = new VersionCache();

/** One `BatchGetSecretValue` entry's value, as {@link VersionValue}; `undefined` if it has none. */
function batchValue(entry: {
  SecretString?: string;
  SecretBinary?: Uint8Array;
}): VersionValue | undefined {
  if (entry.SecretString !== undefined) return { text: entry.SecretString, binary: false };
  if (entry.SecretBinary !== undefined) {
    return { text: Buffer.from(entry.SecretBinary).toString('base64'), binary: true };
  }
  return undefined;
}

/** The SDK error name behind one of our wrapped errors. */
function causeName(error: unknown): string | undefined {
  return ((error as { cause?: { name?: string } })?.cause ?? (error as { name?: string }))?.name;
}

/**
 * The one place that talks to Secrets Manager. Every call is retried on throttling and
 * transient faults, and failures surface as {@link SecretsManagerError} naming the
 * operation (the SDK error stays as `cause`). Reads of a version by id are served from an
 * immutable-version cache when possible.
 */
export class SecretsGateway {
  readonly #client: SecretsManagerClient;
  readonly #retry: RetryPolicy;
  readonly #cache: VersionCache | null;
  readonly #onSecretValue: (value: VersionValue) => void;
  readonly #onRetry: SecretsGatewayOptions['onRetry'];
  /** AWSCURRENT values read alongside another secret's, until the step ends. */
  readonly #prefetched = new Map<string, VersionValue>();
  /** Set once BatchGetSecretValue is refused (an older role without it): not tried again. */
  #batchUnavailable = false;

  constructor(options: SecretsGatewayOptions) {
    this.#client = options.client;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#cache = options.cache === undefined ? processCache : options.cache;
    this.#onSecretValue = options.onSecretValue ?? (() => {});
    this.#onRetry = options.onRetry;
  }

  async #call<T>(
    operation: string,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await withRetry(call, {
        policy: this.#retry,
        ...(signal ? { signal } : {}),
        onRetry: (error, attempt) => this.#onRetry?.(operation, error, attempt),
      });
    } catch (error) {
      throw new SecretsManagerError(operation, { cause: error });
    }
  }

  /**
   * Registers a value read earlier (e.g. served from a cache that outlives an invocation)
   * for scrubbing, as every value read through the gateway is.
   */
  registerValue(secretString: string): void {
    this.#onSecretValue({ text: secretString, binary: false });
  }

  /** `DescribeSecret`: ARN, rotation flag and the labelled versions. */
  async describe(secretId: string, signal?: AbortSignal): Promise<SecretDescription> {
    const out = await this.#call('DescribeSecret', signal, () =>
      this.#client.send(new DescribeSecretCommand({ SecretId: secretId }), { abortSignal: signal }),
    );
    const versions = new Map<string, readonly string[]>();
    for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
      versions.set(id, stages ?? []);
    }
    return {
      arn: out.ARN ?? secretId,
      name: out.Name ?? secretId,
      rotationEnabled: out.RotationEnabled,
      versions,
      tags: new Map((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    };
  }

  /**
   * The value of one version, by id: its `SecretString`, or its `SecretBinary` as base64.
   * Returns `undefined` when the version has no value yet (the empty `AWSPENDING`
   * placeholder `RotateSecret` creates, which `GetSecretValue` reports as
   * `ResourceNotFoundException`); every other failure throws.
   */
  async getVersion(
    secretArn: string,
    versionId: string,
    signal?: AbortSignal,
  ): Promise<VersionValue | undefined> {
    const cached = this.#cache?.get(secretArn, versionId);
    if (cached !== undefined) {
      this.#onSecretValue(cached);
      return cached;
    }
    const value = await this.#getValue(secretArn, { VersionId: versionId }, signal);
    if (value !== undefined) this.#cache?.set(secretArn, versionId, value);
    return value;
  }

  /** Whether the value of `versionId` is cached (reading it would cost no call). */
  hasCachedVersion(secretArn: string, versionId: string): boolean {
    return this.#cache?.get(secretArn, versionId) !== undefined;
  }

  /**
   * The `SecretString` of the version holding `stage`, or `undefined` when none has a value.
   * A `SecretBinary` is refused: the callers (admin secrets, reconcile) need JSON text.
   * An `AWSCURRENT` value fetched by {@link getCurrentVersion} for this step is used once.
   */
  async getValueByStage(
    secretId: string,
    stage: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const prefetched = stage === AWSCURRENT ? this.#prefetched.get(secretId) : undefined;
    if (prefetched) {
      this.#prefetched.delete(secretId);
      // Registered again in the reader's scope, as a cache hit is.
      this.#onSecretValue(prefetched);
    }
    const value = prefetched ?? (await this.#getValue(secretId, { VersionStage: stage }, signal));
    if (value?.binary) {
      throw new SecretFormatError('SecretString', 'is missing: this secret holds a SecretBinary');
    }
    return value?.text;
  }

  /**
   * `GetSecretValue(VersionId=token, VersionStage=AWSPENDING)`: the token's value and labels
   * in one call, with the service vouching that the token holds `AWSPENDING` ("the two
   * parameters must refer to the same secret version", API `GetSecretValue`). Returns
   * `undefined` when the service finds no such value: no version, no value yet, or the
   * version does not hold `AWSPENDING` (`ResourceNotFoundException`; the local twin and
   * some emulators answer `InvalidRequestException`); every other failure throws. Never
   * served from the cache: the labels are what is asked.
   */
  async getPendingVersion(
    secretId: string,
    token: string,
    signal?: AbortSignal,
  ): Promise<PendingVersion | undefined> {
    const out = await this.#getValueOutput(
      secretId,
      { VersionId: token, VersionStage: AWSPENDING },
      signal,
      ['ResourceNotFoundException', 'InvalidRequestException'],
    );
    if (out === undefined) return undefined;
    const arn = out.output.ARN ?? secretId;
    this.#cache?.set(arn, token, out.value);
    return { arn, value: out.value, stages: out.output.VersionStages ?? [] };
  }

  /**
   * The `AWSCURRENT` version of `secretId`, by its label, with its id (cached by id as any
   * version read). With `alsoRead`, one `BatchGetSecretValue` fetches their `AWSCURRENT`
   * values too, kept for {@link getValueByStage} until {@link clearPrefetched}: a secret the
   * batch cannot return, or a batch refused as a whole, falls back to single reads.
   */
  async getCurrentVersion(
    secretId: string,
    alsoRead: readonly string[] = [],
    signal?: AbortSignal,
  ): Promise<CurrentVersion | undefined> {
    const others = alsoRead.filter((id) => id !== secretId);
    if (others.length > 0 && others.length < 20 && !this.#batchUnavailable) {
      const own = await this.#batchCurrent(secretId, others, signal);
      if (own) return own;
    }
    const out = await this.#getValueOutput(secretId, { VersionStage: AWSCURRENT }, signal, [
      'ResourceNotFoundException',
    ]);
    if (out === undefined) return undefined;
    return this.#remember(out.output.ARN ?? secretId, out.output.VersionId, out.value);
  }

  async #batchCurrent(
    secretId: string,
    others: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<CurrentVersion | undefined> {
    let entries: BatchGetSecretValueCommandOutput['SecretValues'];
    try {
      const out = await this.#call('BatchGetSecretValue', signal, () =>
        this.#client.send(new BatchGetSecretValueCommand({ SecretIdList: [secretId, ...others] }), {
          abortSignal: signal,
        }),
      );
      entries = out.SecretValues;
    } catch (error) {
      if (signal?.aborted) throw error;
      this.#batchUnavailable = causeName(error) === 'AccessDeniedException';
      return undefined;
    }
    let own: CurrentVersion | undefined;
    for (const entry of entries ?? []) {
      const value = batchValue(entry);
      if (value === undefined) continue;
      this.#onSecretValue(value);
      const named = (id: string) => id === entry.ARN || id === entry.Name;
      if (named(secretId) && entry.ARN !== undefined) {
        own = this.#remember(entry.ARN, entry.VersionId, value);
      }
      for (const id of others) if (named(id) && !value.binary) this.#prefetched.set(id, value);
    }
    return own;
  }

  #remember(arn: string, versionId: string | undefined, value: VersionValue): CurrentVersion {
    if (versionId) this.#cache?.set(arn, versionId, value);
    return { versionId, value };
  }

  /** Forgets values {@link getCurrentVersion} fetched for this step and nobody used. */
  clearPrefetched(): void {
    this.#prefetched.clear();
  }

  async #getValue(
    secretId: string,
    selector: { VersionId?: string; VersionStage?: string },
    signal: AbortSignal | undefined,
  ): Promise<VersionValue | undefined> {
    const out = await this.#getValueOutput(secretId, selector, signal, [
      'ResourceNotFoundException',
    ]);
    return out?.value;
  }

  /**
   * `GetSecretValue`; `undefined` for the error names in `notFound`. The value (its
   * `SecretString`, or its `SecretBinary` as base64) is registered before it is returned.
   */
  async #getValueOutput(
    secretId: string,
    selector: { VersionId?: string; VersionStage?: string },
    signal: AbortSignal | undefined,
    notFound: readonly string[],
  ): Promise<{ output: GetSecretValueCommandOutput; value: VersionValue } | undefined> {
    let out: GetSecretValueCommandOutput;
    try {
      out = await this.#call('GetSecretValue', signal, () =>
        this.#client.send(new GetSecretValueCommand({ SecretId: secretId, ...selector }), {
          abortSignal: signal,
        }),
      );
    } catch (error) {
      if (notFound.includes(causeName(error) ?? '')) return undefined;
      throw error;
    }
    let value: VersionValue;
    if (out.SecretString !== undefined) {
      value = { text: out.SecretString, binary: false };
    } else if (out.SecretBinary !== undefined) {
      value = { text: Buffer.from(out.SecretBinary).toString('base64'), binary: true };
    } else {
      throw new SecretFormatError('SecretString', 'and SecretBinary are both missing');
    }
    this.#onSecretValue(value);
    return { output: out, value };
  }

  /**
   * Stores `value` as the version `token` labelled `AWSPENDING` (never without the label:
   * that would make it current), as `SecretBinary` when `value.binary`. Returns `'exists'`
   * when the version already holds a different value (`ResourceExistsException`: an earlier
   * or concurrent attempt won).
   */
  async putPendingValue(
    secretArn: string,
    token: string,
    value: VersionValue,
    options: { rotationToken?: string; signal?: AbortSignal } = {},
  ): Promise<'stored' | 'exists'> {
    this.#onSecretValue(value);
    try {
      await this.#call('PutSecretValue', options.signal, () =>
        this.#client.send(
          new PutSecretValueCommand({
            SecretId: secretArn,
            ClientRequestToken: token,
            ...(value.binary
              ? { SecretBinary: Buffer.from(value.text, 'base64') }
              : { SecretString: value.text }),
            VersionStages: [AWSPENDING],
            ...(options.rotationToken ? { RotationToken: options.rotationToken } : {}),
          }),
          { abortSignal: options.signal },
        ),
      );
    } catch (error) {
      if (causeName(error) === 'ResourceExistsException') return 'exists';
      throw error;
    }
    this.#cache?.set(secretArn, token, value);
    return 'stored';
  }

  /**
   * Moves `AWSCURRENT` to `token` (`UpdateSecretVersionStage`), removing it from
   * `currentVersionId`; Secrets Manager moves `AWSPREVIOUS` to the old version itself.
   */
  async promotePendingVersion(
    secretArn: string,
    token: string,
    currentVersionId: string | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.#call('UpdateSecretVersionStage', signal, () =>
      this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretArn,
          VersionStage: AWSCURRENT,
          MoveToVersionId: token,
          ...(currentVersionId ? { RemoveFromVersionId: currentVersionId } : {}),
        }),
        { abortSignal: signal },
      ),
    );
  }

  /** `GetRandomPassword` under `policy`. */
  async randomPassword(policy: PasswordPolicy, signal?: AbortSignal): Promise<string> {
    const out = await this.#call('GetRandomPassword', signal, () =>
      this.#client.send(
        new GetRandomPasswordCommand({
          PasswordLength: policy.length,
          ExcludeCharacters: policy.excludeCharacters,
          ExcludeNumbers: policy.excludeNumbers,
          ExcludePunctuation: policy.excludePunctuation,
          ExcludeUppercase: policy.excludeUppercase,
          ExcludeLowercase: policy.excludeLowercase,
          IncludeSpace: policy.includeSpace,
          RequireEachIncludedType: policy.requireEachIncludedType,
        }),
        { abortSignal: signal },
      ),
    );
    if (!out.RandomPassword) {
      throw new SecretsManagerError('GetRandomPassword', {
        cause: new Error('empty RandomPassword'),
      });
    }
    this.#onSecretValue({ text: out.RandomPassword, binary: false });
    return out.RandomPassword;
  }
}
