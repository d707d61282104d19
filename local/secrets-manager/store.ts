import { randomUUID } from 'node:crypto';
import type { RotationStep } from '../../shared/engine/types.js';
import * as deletion from './deletion.js';
import {
  invalidParameter,
  invalidRequest,
  limitExceeded,
  resourceExists,
  type ServiceException,
} from './errors.js';
import { type Input, optionalString, optionalTags, requiredString } from './input.js';
import * as listing from './listing.js';
import {
  MAX_TAGS,
  NAME_PATTERN,
  prune,
  type RotateOutcome,
  type RotationJob,
  randomSuffix,
  readToken,
  readValue,
  type SecretRecord,
  type StoreOptions,
  type StoreSnapshot,
} from './model.js';
import { RotationLifecycle } from './rotationLifecycle.js';
import { interruptByRestart } from './rotationState.js';
import type { RotationRules } from './schedule.js';
import { SecretTable } from './secretTable.js';
import * as tags from './tags.js';
import * as values from './values.js';

/**
 * The state model and semantics of Secrets Manager: secrets, versions, staging labels,
 * idempotency, deletion and rotation bookkeeping. Pure: no I/O, time from the injected clock.
 * Each API method takes the decoded JSON request and returns the JSON response (timestamps
 * as epoch seconds), throwing {@link ServiceException} for service errors.
 *
 * The store creates and updates secrets itself and composes one module per concern over a
 * shared {@link SecretTable}: values and staging labels (`values.ts`, over the label
 * primitives of `labels.ts`), {@link RotationLifecycle}, `deletion.ts`, `tags.ts` and
 * `listing.ts`. Its methods are the one surface the request handler, the runner and the
 * scheduler use.
 */
export class SecretsStore {
  readonly #table: SecretTable;
  readonly #region: string;
  readonly #accountId: string;
  readonly #rotation: RotationLifecycle;

  constructor(options: StoreOptions, snapshot?: StoreSnapshot) {
    this.#table = new SecretTable(options.clock);
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#rotation = new RotationLifecycle(this.#table, {
      functionExists: options.functionExists ?? (() => true),
      isRotationRunning: options.isRotationRunning ?? (() => false),
    });
    for (const secret of snapshot?.secrets ?? []) {
      interruptByRestart(secret, this.#table.now());
      this.#table.add(secret);
    }
  }

  /** A deep copy of the state, for persistence. */
  snapshot(): StoreSnapshot {
    return { secrets: structuredClone(this.#table.all()) };
  }

  /** The secret record (live object) for an id, including secrets scheduled for deletion. */
  find(secretId: string): SecretRecord | undefined {
    return this.#table.find(secretId);
  }

  /** All secrets (live objects). */
  all(): SecretRecord[] {
    return this.#table.all();
  }

  /** See {@link SecretTable.takeTouched}: what the state file writes. */
  takeTouched(): Map<string, SecretRecord | undefined> {
    return this.#table.takeTouched();
  }

  // ---------------------------------------------------------------- secrets

  /** CreateSecret. */
  createSecret(input: Input): Record<string, unknown> {
    const name = requiredString(input, 'Name', { min: 1, max: 512 });
    if (!NAME_PATTERN.test(name)) {
      throw invalidParameter(
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    }
    const value = readValue(input);
    const token = readToken(input) ?? randomUUID();
    const initialTags = optionalTags(input) ?? [];
    if (initialTags.length > MAX_TAGS) throw limitExceeded('A secret can have at most 50 tags.');
    if (input.AddReplicaRegions !== undefined) {
      throw invalidParameter('The local Secrets Manager does not support replication.');
    }
    const existing = this.#table.all().find((s) => s.name === name);
    if (existing) {
      if (existing.deletedDate !== undefined) {
        throw invalidRequest(
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      throw resourceExists(`The operation failed because the secret ${name} already exists.`);
    }
    const now = this.#table.now();
    const secret: SecretRecord = {
      arn: `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}-${randomSuffix()}`,
      name,
      description: optionalString(input, 'Description', { max: 2048 }),
      kmsKeyId: optionalString(input, 'KmsKeyId'),
      tags: tags.mergeTags([], initialTags),
      createdDate: now,
      lastChangedDate: now,
      versions: [],
    };
    this.#table.add(secret);
    if (value) values.writeValue(this.#table, secret, value, token, undefined);
    return prune({ ARN: secret.arn, Name: secret.name, VersionId: value ? token : undefined });
  }

  /** UpdateSecret: metadata, and a new AWSCURRENT version when a value is given. */
  updateSecret(input: Input): Record<string, unknown> {
    const secret = this.#table.getActive(requiredString(input, 'SecretId'));
    const value = readValue(input);
    const token = readToken(input) ?? randomUUID();
    const description = optionalString(input, 'Description', { max: 2048 });
    const kmsKeyId = optionalString(input, 'KmsKeyId');
    // The value first: if it is refused (token reuse), the metadata stays unchanged too.
    const version = value
      ? values.writeValue(this.#table, secret, value, token, undefined)
      : undefined;
    if (description !== undefined) secret.description = description;
    if (kmsKeyId !== undefined) secret.kmsKeyId = kmsKeyId;
    secret.lastChangedDate = this.#table.now();
    return prune({ ARN: secret.arn, Name: secret.name, VersionId: version?.versionId });
  }

  // One line per operation of the other concerns: each takes the decoded request and works on
  // this store's table, so the request handler sees one object with the service's whole API.

  /** GetSecretValue (values.ts). */
  readonly getSecretValue = this.#api(values.getSecretValue);
  /** PutSecretValue (values.ts). */
  readonly putSecretValue = this.#api(values.putSecretValue);
  /** UpdateSecretVersionStage (values.ts). */
  readonly updateSecretVersionStage = this.#api(values.updateSecretVersionStage);
  /** DescribeSecret (listing.ts). */
  readonly describeSecret = this.#api(listing.describeSecret);
  /** ListSecrets (listing.ts). */
  readonly listSecrets = this.#api(listing.listSecrets);
  /** ListSecretVersionIds (listing.ts). */
  readonly listSecretVersionIds = this.#api(listing.listSecretVersionIds);
  /** The local extension field reporting a secret's latest rotation (listing.ts). */
  readonly rotationStatus = listing.rotationStatus;
  /** DeleteSecret (deletion.ts). */
  readonly deleteSecret = this.#api(deletion.deleteSecret);
  /** RestoreSecret (deletion.ts). */
  readonly restoreSecret = this.#api(deletion.restoreSecret);
  /** TagResource (tags.ts). */
  readonly tagResource = this.#api(tags.tagResource);
  /** UntagResource (tags.ts). */
  readonly untagResource = this.#api(tags.untagResource);

  /** Permanently deletes secrets whose recovery window has ended; returns how many. */
  purgeExpired(): number {
    return deletion.purgeExpired(this.#table);
  }

  #api<R>(operation: (table: SecretTable, input: Input) => R): (input: Input) => R {
    // Read at call time: field initialisers run before the constructor sets the table.
    return (input) => operation(this.#table, input);
  }

  // ---------------------------------------------------------------- rotation

  /** RotateSecret; see {@link RotationLifecycle.rotateSecret}. */
  rotateSecret(input: Input): RotateOutcome {
    return this.#rotation.rotateSecret(input);
  }

  /** CancelRotateSecret; see {@link RotationLifecycle.cancelRotateSecret}. */
  cancelRotateSecret(input: Input): Record<string, unknown> {
    return this.#rotation.cancelRotateSecret(input);
  }

  /** See {@link RotationLifecycle.startScheduledRotation}. */
  startScheduledRotation(arn: string): RotationJob | undefined {
    return this.#rotation.startScheduledRotation(arn);
  }

  /** See {@link RotationLifecycle.dueForRotation}. */
  dueForRotation(): string[] {
    return this.#rotation.dueForRotation();
  }

  /** See {@link RotationLifecycle.configureRotation}. */
  configureRotation(secretId: string, functionArn: string, rules: RotationRules): void {
    this.#rotation.configureRotation(secretId, functionArn, rules);
  }

  /** See {@link RotationLifecycle.rotationIsLive}. */
  rotationIsLive(arn: string, versionId: string): boolean {
    return this.#rotation.rotationIsLive(arn, versionId);
  }

  /** See {@link RotationLifecycle.rotationStep}. */
  rotationStep(arn: string, versionId: string, step: RotationStep): void {
    this.#rotation.rotationStep(arn, versionId, step);
  }

  /** See {@link RotationLifecycle.rotationFailed}. */
  rotationFailed(arn: string, versionId: string, step: RotationStep, message: string): void {
    this.#rotation.rotationFailed(arn, versionId, step, message);
  }

  /** See {@link RotationLifecycle.rotationSucceeded}. */
  rotationSucceeded(arn: string, versionId: string): void {
    this.#rotation.rotationSucceeded(arn, versionId);
  }
}
