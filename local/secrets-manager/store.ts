import { randomUUID } from 'node:crypto';
import type { RotationStep } from '../../shared/engine/types.js';
import { batchGetSecretValue } from './batchGet.js';
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
import * as policies from './policies.js';
import { regionOf } from './regions.js';
import * as replication from './replication.js';
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
  readonly #options: StoreOptions;
  readonly #views = new Map<string, SecretsStore>();

  /** `table` is internal: a Region's view of another store's table ({@link inRegion}). */
  constructor(options: StoreOptions, snapshot?: StoreSnapshot, table?: SecretTable) {
    this.#table = table ?? new SecretTable(options.clock);
    this.#options = options;
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#rotation = new RotationLifecycle(this.#table, {
      functionExists: options.functionExists ?? (() => true),
      isRotationRunning: options.isRotationRunning ?? (() => false),
    });
    for (const secret of table ? [] : (snapshot?.secrets ?? [])) {
      interruptByRestart(secret, this.#table.now());
      this.#table.add(secret);
    }
  }

  /** The default Region: of secrets this store creates, and of unsigned requests. */
  get region(): string {
    return this.#region;
  }

  /**
   * The store as a request signed for `region` sees it: ids resolve within that Region and
   * new secrets get its ARNs. With `write` access, a replica refuses changes with the
   * service's error (a replica is read-only).
   */
  inRegion(region: string, access: 'read' | 'write'): SecretsStore {
    const key = `${region}\n${access}`;
    let view = this.#views.get(key);
    if (!view) {
      const scope = { region, refuseReplicas: access === 'write' };
      view = new SecretsStore({ ...this.#options, region }, undefined, this.#table.inRegion(scope));
      this.#views.set(key, view);
    }
    return view;
  }

  /** Copies every primary's state to its replicas (replication.ts); run before persisting. */
  propagateReplicas(): void {
    replication.propagate(this.#table);
  }

  /** A deep copy of the state, for persistence. */
  snapshot(): StoreSnapshot {
    return { secrets: structuredClone(this.#table.all()) };
  }

  /**
   * The secret record (live object) for an id, including secrets scheduled for deletion. A
   * name held in several Regions means this store's Region first.
   */
  find(secretId: string): SecretRecord | undefined {
    const own = this.#table.inRegion({ region: this.#region, refuseReplicas: false });
    return own.find(secretId) ?? this.#table.find(secretId);
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
    const replicas = replication.readReplication(input, this.#region);
    const existing = this.#table
      .all()
      .find((s) => s.name === name && regionOf(s.arn) === this.#region);
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
    replication.addReplicas(this.#table, secret, replicas);
    return prune({
      ARN: secret.arn,
      Name: secret.name,
      VersionId: value ? token : undefined,
      ReplicationStatus: secret.replicas
        ? replication.replicationStatus(this.#table, secret)
        : undefined,
    });
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
  readonly describeSecret = this.#api(replication.withReplicationFields(listing.describeSecret));
  /** ListSecrets (listing.ts). */
  readonly listSecrets = this.#api(replication.withPrimaryRegion(listing.listSecrets));
  /** ListSecretVersionIds (listing.ts). */
  readonly listSecretVersionIds = this.#api(listing.listSecretVersionIds);
  /** The local extension field reporting a secret's latest rotation (listing.ts). */
  readonly rotationStatus = listing.rotationStatus;
  /** DeleteSecret (deletion.ts). */
  readonly deleteSecret = this.#api(replication.refusingReplicatedPrimary(deletion.deleteSecret));
  /** RestoreSecret (deletion.ts). */
  readonly restoreSecret = this.#api(deletion.restoreSecret);
  /** TagResource (tags.ts). */
  readonly tagResource = this.#api(tags.tagResource);
  /** UntagResource (tags.ts). */
  readonly untagResource = this.#api(tags.untagResource);
  /** PutResourcePolicy (policies.ts). */
  readonly putResourcePolicy = this.#api(policies.putResourcePolicy);
  /** GetResourcePolicy (policies.ts). */
  readonly getResourcePolicy = this.#api(policies.getResourcePolicy);
  /** DeleteResourcePolicy (policies.ts). */
  readonly deleteResourcePolicy = this.#api(policies.deleteResourcePolicy);
  /** ValidateResourcePolicy (policies.ts). */
  readonly validateResourcePolicy = this.#api(policies.validateResourcePolicy);
  /** BatchGetSecretValue (batchGet.ts). */
  readonly batchGetSecretValue = this.#api(batchGetSecretValue);
  /** ReplicateSecretToRegions (replication.ts). */
  readonly replicateSecretToRegions = this.#api(replication.replicateSecretToRegions);
  /** RemoveRegionsFromReplication (replication.ts). */
  readonly removeRegionsFromReplication = this.#api(replication.removeRegionsFromReplication);
  /** StopReplicationToReplica (replication.ts). */
  readonly stopReplicationToReplica = this.#api(replication.stopReplicationToReplica);

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
