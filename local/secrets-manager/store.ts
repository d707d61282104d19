import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { RotationStep } from '../../shared/engine/types.js';
import type { Clock } from './clock.js';
import {
  invalidParameter,
  invalidRequest,
  limitExceeded,
  MARKED_FOR_DELETION,
  resourceExists,
  resourceNotFound,
  type ServiceException,
} from './errors.js';
import {
  type Input,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringList,
  optionalTags,
  requiredString,
  type Tag,
} from './input.js';
import { filterMatches, parseFilters } from './listFilters.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  DAY,
  decodeToken,
  encodeToken,
  MAX_LABELS_PER_VERSION,
  MAX_TAGS,
  MAX_VERSIONS,
  NAME_PATTERN,
  prune,
  type RotateOutcome,
  type RotationJob,
  randomSuffix,
  readToken,
  readValue,
  type SecretRecord,
  type SecretValue,
  type StoreOptions,
  type StoreSnapshot,
  seconds,
  startOfUtcDay,
  type VersionRecord,
  valueOut,
} from './model.js';
import { redactJsonParseQuotes, redactValues, secretValuesOf } from './redaction.js';
import {
  nextRotationTime,
  parseRotationRules,
  type RotationRules,
  type Schedule,
  ScheduleError,
} from './schedule.js';

/**
 * The state model and semantics of Secrets Manager: secrets, versions, staging labels,
 * idempotency, deletion and rotation bookkeeping. Pure: no I/O, time from the injected clock.
 * Each API method takes the decoded JSON request and returns the JSON response (timestamps
 * as epoch seconds), throwing {@link ServiceException} for service errors.
 */
export class SecretsStore {
  private readonly secrets = new Map<string, SecretRecord>();
  private readonly clock: Clock;
  private readonly region: string;
  private readonly accountId: string;
  private readonly functionExists: (arnOrName: string) => boolean;
  private readonly isRotationRunning: (arn: string) => boolean;

  constructor(options: StoreOptions, snapshot?: StoreSnapshot) {
    this.clock = options.clock;
    this.region = options.region;
    this.accountId = options.accountId;
    this.functionExists = options.functionExists ?? (() => true);
    this.isRotationRunning = options.isRotationRunning ?? (() => false);
    for (const secret of snapshot?.secrets ?? []) {
      const rotation = secret.rotation;
      if (rotation?.state === 'InProgress') {
        // The process stopped mid-rotation; no job survives a restart.
        rotation.state = 'Interrupted';
        rotation.message = `The local Secrets Manager stopped during ${rotation.step ?? 'rotation'}`;
        rotation.endedDate = this.clock.now();
        if (rotation.mode === 'test') this.detachLabel(secret, AWSPENDING);
      }
      this.secrets.set(secret.arn, secret);
    }
  }

  /** A deep copy of the state, for persistence. */
  snapshot(): StoreSnapshot {
    return { secrets: structuredClone([...this.secrets.values()]) };
  }

  /** The secret record (live object) for an id, including secrets scheduled for deletion. */
  find(secretId: string): SecretRecord | undefined {
    const byArn = this.secrets.get(secretId);
    if (byArn) return byArn;
    for (const secret of this.secrets.values()) {
      if (secret.name === secretId) return secret;
      // A partial ARN (without the random suffix) also identifies the secret.
      if (secretId.startsWith('arn:') && secret.arn.slice(0, -7) === secretId) return secret;
    }
    return undefined;
  }

  /** All secrets (live objects). */
  all(): SecretRecord[] {
    return [...this.secrets.values()];
  }

  private now(): number {
    return this.clock.now();
  }

  private get(secretId: string): SecretRecord {
    const secret = this.find(secretId);
    if (!secret) throw resourceNotFound();
    return secret;
  }

  private getActive(secretId: string): SecretRecord {
    const secret = this.get(secretId);
    if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
    return secret;
  }

  private version(secret: SecretRecord, versionId: string): VersionRecord | undefined {
    return secret.versions.find((v) => v.versionId === versionId);
  }

  private holder(secret: SecretRecord, label: string): VersionRecord | undefined {
    return secret.versions.find((v) => v.stages.includes(label));
  }

  private detachLabel(secret: SecretRecord, label: string): VersionRecord | undefined {
    const holder = this.holder(secret, label);
    if (holder) holder.stages = holder.stages.filter((s) => s !== label);
    return holder;
  }

  private attachLabel(secret: SecretRecord, version: VersionRecord, label: string): void {
    if (version.stages.includes(label)) return;
    // Checked before anything changes, so a refused request leaves no partial move behind.
    if (version.stages.length >= MAX_LABELS_PER_VERSION) {
      throw limitExceeded('A version can have at most 20 staging labels.');
    }
    const from = this.detachLabel(secret, label);
    version.stages.push(label);
    // "Moving AWSCURRENT automatically moves AWSPREVIOUS onto the version it left" (API).
    if (label === AWSCURRENT && from && from !== version) {
      this.detachLabel(secret, AWSPREVIOUS);
      from.stages.push(AWSPREVIOUS);
    }
  }

  /** AWSPENDING on a version other than AWSCURRENT: a rotation is pending (API RotateSecret). */
  pendingVersion(secret: SecretRecord): VersionRecord | undefined {
    const pending = this.holder(secret, AWSPENDING);
    return pending && !pending.stages.includes(AWSCURRENT) ? pending : undefined;
  }

  /** Marks the latest rotation abandoned when its version lost AWSPENDING some other way. */
  private reconcileRotation(secret: SecretRecord, reason: string): void {
    const rotation = secret.rotation;
    if (
      !rotation ||
      (rotation.state !== 'InProgress' &&
        rotation.state !== 'Failed' &&
        rotation.state !== 'Interrupted')
    ) {
      return;
    }
    const version = this.version(secret, rotation.versionId);
    if (version?.stages.includes(AWSPENDING)) return;
    rotation.state = 'Abandoned';
    rotation.message = reason;
    rotation.endedDate = this.now();
  }

  /** Drops deprecated versions past 100, never ones younger than 24 hours (API PutSecretValue). */
  private pruneVersions(secret: SecretRecord): void {
    if (secret.versions.length <= MAX_VERSIONS) return;
    const now = this.now();
    const removable = secret.versions
      .filter((v) => v.stages.length === 0 && now - v.createdDate >= DAY)
      .sort((a, b) => a.createdDate - b.createdDate);
    const drop = new Set<VersionRecord>();
    for (const v of removable) {
      if (secret.versions.length - drop.size <= MAX_VERSIONS) break;
      drop.add(v);
    }
    secret.versions = secret.versions.filter((v) => !drop.has(v));
  }

  private refreshSchedule(secret: SecretRecord): void {
    const schedule = this.schedule(secret);
    if (!secret.rotationEnabled || !schedule || secret.scheduleAnchor === undefined) {
      if (!secret.rotationEnabled) secret.nextRotationDate = undefined;
      return;
    }
    secret.nextRotationDate = nextRotationTime(schedule, secret.scheduleAnchor);
  }

  private schedule(secret: SecretRecord): Schedule | undefined {
    return secret.rotationRules ? parseRotationRules(secret.rotationRules) : undefined;
  }

  /**
   * Adds a value as a new version or, for an existing ClientRequestToken, applies the
   * documented idempotency: same value → ignored; different value → ResourceExistsException;
   * RotateSecret's empty AWSPENDING placeholder → filled by the first put.
   */
  private writeValue(
    secret: SecretRecord,
    value: SecretValue,
    token: string,
    stages: string[] | undefined,
  ): VersionRecord {
    const now = this.now();
    const existing = this.version(secret, token);
    if (existing) {
      if (existing.value === undefined) {
        existing.value = value;
        for (const label of stages ?? []) this.attachLabel(secret, existing, label);
        secret.lastChangedDate = now;
        return existing;
      }
      if (isDeepStrictEqual(existing.value, value)) return existing;
      throw resourceExists(
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    const labels = stages ?? [AWSCURRENT];
    if (labels.length > MAX_LABELS_PER_VERSION) {
      throw limitExceeded('A version can have at most 20 staging labels.');
    }
    const version: VersionRecord = { versionId: token, stages: [], createdDate: now, value };
    // The first version of a secret always becomes AWSCURRENT (API PutSecretValue).
    const first = !secret.versions.some((v) => v.stages.includes(AWSCURRENT));
    secret.versions.push(version);
    const finalLabels = first && !labels.includes(AWSCURRENT) ? [...labels, AWSCURRENT] : labels;
    if (this.pendingVersion(secret) && !finalLabels.includes(AWSPENDING)) {
      // CloudTrail RotationAbandoned: "Secrets Manager abandons a rotation attempt and removes
      // the AWSPENDING label from an existing version ... when you create a new version of a
      // secret during rotation" (User Guide, retrieve-ct-entries).
      this.detachLabel(secret, AWSPENDING);
      this.reconcileRotation(
        secret,
        'Rotation abandoned: a new secret value was written during rotation',
      );
    }
    for (const label of finalLabels) this.attachLabel(secret, version, label);
    this.reconcileRotation(secret, 'Rotation abandoned: AWSPENDING moved to another version');
    if (finalLabels.includes(AWSCURRENT)) {
      // "Manually updating the secret value ... is considered a valid rotation" (API RotationRulesType).
      secret.scheduleAnchor = now;
      this.refreshSchedule(secret);
    }
    secret.lastChangedDate = now;
    this.pruneVersions(secret);
    return version;
  }

  // ---------------------------------------------------------------- API operations

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
    const tags = optionalTags(input) ?? [];
    if (tags.length > MAX_TAGS) throw limitExceeded('A secret can have at most 50 tags.');
    if (input.AddReplicaRegions !== undefined) {
      throw invalidParameter('The local Secrets Manager does not support replication.');
    }
    const existing = [...this.secrets.values()].find((s) => s.name === name);
    if (existing) {
      if (existing.deletedDate !== undefined) {
        throw invalidRequest(
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      throw resourceExists(`The operation failed because the secret ${name} already exists.`);
    }
    const now = this.now();
    const secret: SecretRecord = {
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomSuffix()}`,
      name,
      description: optionalString(input, 'Description', { max: 2048 }),
      kmsKeyId: optionalString(input, 'KmsKeyId'),
      tags: dedupeTags([], tags),
      createdDate: now,
      lastChangedDate: now,
      versions: [],
    };
    this.secrets.set(secret.arn, secret);
    if (value) this.writeValue(secret, value, token, undefined);
    return prune({ ARN: secret.arn, Name: secret.name, VersionId: value ? token : undefined });
  }

  /** GetSecretValue. */
  getSecretValue(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const versionId = optionalString(input, 'VersionId');
    const stage = optionalString(input, 'VersionStage');
    let version: VersionRecord | undefined;
    if (versionId !== undefined) {
      version = this.version(secret, versionId);
      if (!version) {
        throw resourceNotFound(
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
        );
      }
      // "If you include both, the two parameters must refer to the same secret version" (API).
      if (stage !== undefined && !version.stages.includes(stage)) {
        throw invalidRequest(
          'You provided a VersionStage that is not associated to the provided VersionId.',
        );
      }
    } else {
      const label = stage ?? AWSCURRENT;
      version = this.holder(secret, label);
      if (!version) {
        throw resourceNotFound(
          `Secrets Manager can't find the specified secret value for staging label: ${label}`,
        );
      }
    }
    if (!version.value) {
      const what =
        stage !== undefined || versionId === undefined
          ? `staging label: ${stage ?? AWSCURRENT}`
          : `VersionId: ${versionId}`;
      throw resourceNotFound(`Secrets Manager can't find the specified secret value for ${what}`);
    }
    // AWS records LastAccessedDate at day granularity.
    const today = startOfUtcDay(this.now());
    secret.lastAccessedDate = today;
    version.lastAccessedDate = today;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...valueOut(version.value),
      VersionStages: [...version.stages],
      CreatedDate: seconds(version.createdDate),
    };
  }

  /** PutSecretValue. */
  putSecretValue(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const value = readValue(input);
    if (!value) throw invalidParameter('You must provide either SecretString or SecretBinary.');
    const token = readToken(input) ?? randomUUID();
    const stages = optionalStringList(input, 'VersionStages');
    if (
      stages !== undefined &&
      (stages.length < 1 || stages.some((s) => s.length < 1 || s.length > 256))
    ) {
      throw invalidParameter('VersionStages must hold 1-20 labels of 1-256 characters.');
    }
    // RotationToken is accepted and not verified: there is no IAM here.
    optionalString(input, 'RotationToken', { min: 36, max: 256 });
    const version = this.writeValue(secret, value, token, stages);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      VersionStages: [...version.stages],
    };
  }

  /** UpdateSecret: metadata, and a new AWSCURRENT version when a value is given. */
  updateSecret(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const value = readValue(input);
    const token = readToken(input) ?? randomUUID();
    const description = optionalString(input, 'Description', { max: 2048 });
    const kmsKeyId = optionalString(input, 'KmsKeyId');
    // The value first: if it is refused (token reuse), the metadata stays unchanged too.
    const version = value ? this.writeValue(secret, value, token, undefined) : undefined;
    if (description !== undefined) secret.description = description;
    if (kmsKeyId !== undefined) secret.kmsKeyId = kmsKeyId;
    secret.lastChangedDate = this.now();
    return prune({ ARN: secret.arn, Name: secret.name, VersionId: version?.versionId });
  }

  /** DescribeSecret (works on secrets scheduled for deletion: it reports DeletedDate). */
  describeSecret(input: Input): Record<string, unknown> {
    const secret = this.get(requiredString(input, 'SecretId'));
    return {
      ...this.metadata(secret, 'VersionIdsToStages'),
      LocalRotationStatus: this.rotationStatus(secret),
    };
  }

  /** The local extension field: the latest rotation's state, step and error message. */
  rotationStatus(secret: SecretRecord): Record<string, unknown> | undefined {
    const r = secret.rotation;
    if (!r) return undefined;
    return prune({
      State: r.state,
      VersionId: r.versionId,
      Mode: r.mode === 'test' ? 'TestOnly' : 'Rotate',
      Step: r.step,
      Message: r.message,
      Attempts: r.attempts,
      StartedDate: seconds(r.startedDate),
      EndedDate: seconds(r.endedDate),
    });
  }

  private metadata(secret: SecretRecord, stagesField: string): Record<string, unknown> {
    const stages: Record<string, string[]> = {};
    // "VersionIdsToStages lists only versions that have labels" (API DescribeSecret).
    for (const v of secret.versions) if (v.stages.length > 0) stages[v.versionId] = [...v.stages];
    return prune({
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      KmsKeyId: secret.kmsKeyId,
      RotationEnabled: secret.rotationEnabled,
      RotationLambdaARN: secret.rotationLambdaArn,
      RotationRules: secret.rotationRules ? { ...secret.rotationRules } : undefined,
      LastRotatedDate: seconds(secret.lastRotatedDate),
      LastChangedDate: seconds(secret.lastChangedDate),
      LastAccessedDate: seconds(secret.lastAccessedDate),
      DeletedDate: seconds(secret.deletedDate),
      NextRotationDate: secret.rotationEnabled ? seconds(secret.nextRotationDate) : undefined,
      // "Secrets Manager only returns fields that have a value" (CLI describe-secret).
      Tags: secret.tags.length > 0 ? secret.tags.map((t) => ({ ...t })) : undefined,
      [stagesField]: stages,
      CreatedDate: seconds(secret.createdDate),
    });
  }

  /** ListSecrets with Filters (name, description, tag-key, tag-value, all; `!` negation). */
  listSecrets(input: Input): Record<string, unknown> {
    const max = optionalInteger(input, 'MaxResults') ?? 100;
    if (max < 1 || max > 100) throw invalidParameter('MaxResults must be between 1 and 100.');
    const includeDeleted = optionalBoolean(input, 'IncludePlannedDeletion') ?? false;
    const sortOrder = optionalString(input, 'SortOrder') ?? 'asc';
    if (sortOrder !== 'asc' && sortOrder !== 'desc')
      throw invalidParameter('SortOrder must be asc or desc.');
    const filters = parseFilters(input.Filters);
    const matches = [...this.secrets.values()]
      .filter((s) => includeDeleted || s.deletedDate === undefined)
      .filter((s) => filters.every((f) => filterMatches(f, s)))
      .sort(
        (a, b) =>
          (a.createdDate - b.createdDate || a.name.localeCompare(b.name)) *
          (sortOrder === 'asc' ? 1 : -1),
      );
    const offset = decodeToken(optionalString(input, 'NextToken'));
    const page = matches.slice(offset, offset + max);
    const next = offset + max < matches.length ? encodeToken(offset + max) : undefined;
    return prune({
      SecretList: page.map((s) => this.metadata(s, 'SecretVersionsToStages')),
      NextToken: next,
    });
  }

  /** ListSecretVersionIds; deprecated (unlabelled) versions only with IncludeDeprecated. */
  listSecretVersionIds(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const max = optionalInteger(input, 'MaxResults') ?? 100;
    if (max < 1 || max > 100) throw invalidParameter('MaxResults must be between 1 and 100.');
    const includeDeprecated = optionalBoolean(input, 'IncludeDeprecated') ?? false;
    const versions = secret.versions.filter((v) => includeDeprecated || v.stages.length > 0);
    const offset = decodeToken(optionalString(input, 'NextToken'));
    const page = versions.slice(offset, offset + max);
    return prune({
      Versions: page.map((v) =>
        prune({
          VersionId: v.versionId,
          VersionStages: [...v.stages],
          LastAccessedDate: seconds(v.lastAccessedDate),
          CreatedDate: seconds(v.createdDate),
        }),
      ),
      NextToken: offset + max < versions.length ? encodeToken(offset + max) : undefined,
      ARN: secret.arn,
      Name: secret.name,
    });
  }

  /** UpdateSecretVersionStage: moves, attaches or removes one staging label. */
  updateSecretVersionStage(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const label = requiredString(input, 'VersionStage', { min: 1, max: 256 });
    const moveTo = optionalString(input, 'MoveToVersionId', { min: 32, max: 64 });
    const removeFrom = optionalString(input, 'RemoveFromVersionId', { min: 32, max: 64 });
    const holder = this.holder(secret, label);
    if (removeFrom !== undefined) {
      const from = this.version(secret, removeFrom);
      if (!from)
        throw resourceNotFound(
          `Secrets Manager can't find the specified secret version: ${removeFrom}`,
        );
      if (!from.stages.includes(label)) {
        throw invalidParameter(
          `The staging label ${label} is not attached to version ${removeFrom}, so it can't be removed from it.`,
        );
      }
    }
    if (moveTo !== undefined) {
      const target = this.version(secret, moveTo);
      if (!target)
        throw resourceNotFound(
          `Secrets Manager can't find the specified secret version: ${moveTo}`,
        );
      if (holder && holder !== target && removeFrom !== holder.versionId) {
        // Wording as reproduced by moto from the service (API: "If the label is attached and
        // you either do not specify this parameter, or the version ID does not match, then
        // the operation fails").
        throw invalidParameter(
          `The parameter RemoveFromVersionId can't be empty. Staging label ${label} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      this.attachLabel(secret, target, label);
    } else {
      if (removeFrom === undefined) {
        throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
      }
      if (label === AWSCURRENT) {
        // Every secret with a value keeps exactly one AWSCURRENT version.
        throw invalidParameter(
          "You can't remove the staging label AWSCURRENT without moving it to another version.",
        );
      }
      this.detachLabel(secret, label);
    }
    this.reconcileRotation(secret, 'Rotation abandoned: AWSPENDING was removed from the version');
    secret.lastChangedDate = this.now();
    return { ARN: secret.arn, Name: secret.name };
  }

  /**
   * RotateSecret: validates the configuration, refuses while a previous rotation is pending
   * (and re-attempts it, as the service's message promises), else creates the new version
   * labelled AWSPENDING without a value and hands back the job the runner must do.
   */
  rotateSecret(input: Input): RotateOutcome {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const lambdaArn = optionalString(input, 'RotationLambdaARN', { max: 2048 });
    const rulesInput = optionalObject(input, 'RotationRules');
    const rotateImmediately = optionalBoolean(input, 'RotateImmediately') ?? true;
    const requestedToken = readToken(input);
    let rules: RotationRules | undefined;
    if (rulesInput) {
      rules = prune({
        AutomaticallyAfterDays: optionalInteger(rulesInput, 'AutomaticallyAfterDays'),
        Duration: optionalString(rulesInput, 'Duration', { min: 2, max: 3 }),
        ScheduleExpression: optionalString(rulesInput, 'ScheduleExpression', { min: 1, max: 256 }),
      }) as RotationRules;
      try {
        parseRotationRules(rules);
      } catch (error) {
        if (error instanceof ScheduleError) throw invalidParameter(error.message);
        throw error;
      }
    }
    const pending = this.pendingVersion(secret);
    if (pending) {
      const error = invalidRequest(
        "A previous rotation isn't complete. That rotation will be reattempted.",
      );
      const functionArn = secret.rotationLambdaArn;
      const mode =
        secret.rotation?.versionId === pending.versionId ? secret.rotation.mode : 'rotate';
      // A cancelled rotation is not re-attempted: CancelRotateSecret turned rotation off and
      // "failing to clean up a cancelled rotation can block you from starting future
      // rotations" (API CancelRotateSecret).
      if (
        !functionArn ||
        secret.rotationEnabled === false ||
        this.isRotationRunning(secret.arn) ||
        !this.functionExists(functionArn)
      ) {
        return { kind: 'refused', error };
      }
      this.recordAttempt(secret, pending.versionId, mode);
      return {
        kind: 'refused',
        error,
        resume: { arn: secret.arn, versionId: pending.versionId, mode, functionArn },
      };
    }
    if (this.isRotationRunning(secret.arn)) {
      throw invalidRequest('Previous rotation request is still in progress.');
    }
    const functionArn = lambdaArn ?? secret.rotationLambdaArn;
    if (!functionArn) {
      // The service's wording, as quoted from the AWS CLI in getmoto/moto#3912.
      throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
    }
    if (!this.functionExists(functionArn)) {
      throw invalidRequest(
        `Secrets Manager cannot invoke the specified Lambda function ${functionArn}: the local function registry has no such function.`,
      );
    }
    const token = requestedToken ?? randomUUID();
    if (this.version(secret, token)) {
      throw resourceExists(
        `A version with the ClientRequestToken ${token} already exists for this secret.`,
      );
    }
    const now = this.now();
    secret.rotationLambdaArn = functionArn;
    if (rules) secret.rotationRules = rules;
    secret.rotationEnabled = true;
    // A stale AWSPENDING left on AWSCURRENT (a valid end state) moves to the new version.
    this.detachLabel(secret, AWSPENDING);
    const current = this.holder(secret, AWSCURRENT);
    const version: VersionRecord = {
      versionId: token,
      stages: [AWSPENDING],
      createdDate: now,
      // RotateImmediately=false: "The test creates an AWSPENDING version of the secret and
      // then removes it" (API); like moto, it holds a copy of the current value.
      value: rotateImmediately ? undefined : current?.value,
    };
    secret.versions.push(version);
    const mode = rotateImmediately ? 'rotate' : 'test';
    secret.rotation = {
      versionId: token,
      mode,
      state: 'InProgress',
      startedDate: now,
      attempts: 1,
    };
    secret.scheduleAnchor ??= now;
    this.refreshSchedule(secret);
    secret.lastChangedDate = now;
    this.pruneVersions(secret);
    return {
      kind: 'started',
      response: { ARN: secret.arn, Name: secret.name, VersionId: token },
      job: { arn: secret.arn, versionId: token, mode, functionArn },
    };
  }

  private recordAttempt(secret: SecretRecord, versionId: string, mode: 'rotate' | 'test'): void {
    const previous = secret.rotation?.versionId === versionId ? secret.rotation.attempts : 0;
    secret.rotation = {
      versionId,
      mode,
      state: 'InProgress',
      startedDate: this.now(),
      attempts: previous + 1,
    };
  }

  /**
   * Starts the rotation a schedule made due. Returns undefined when nothing may start (a
   * rotation is pending or running, or no function is configured).
   */
  startScheduledRotation(arn: string): RotationJob | undefined {
    const secret = this.secrets.get(arn);
    if (!secret || secret.deletedDate !== undefined || !secret.rotationEnabled) return undefined;
    if (this.pendingVersion(secret) || this.isRotationRunning(arn)) return undefined;
    try {
      const outcome = this.rotateSecret({ SecretId: arn });
      return outcome.kind === 'started' ? outcome.job : undefined;
    } catch {
      return undefined;
    }
  }

  /** CancelRotateSecret: turns rotation off; leaves AWSPENDING where it is, as AWS does. */
  cancelRotateSecret(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const pending = this.pendingVersion(secret);
    secret.rotationEnabled = false;
    secret.nextRotationDate = undefined;
    const rotation = secret.rotation;
    if (
      rotation &&
      (rotation.state === 'InProgress' ||
        rotation.state === 'Failed' ||
        rotation.state === 'Interrupted')
    ) {
      rotation.state = 'Cancelled';
      rotation.message = 'Rotation cancelled by CancelRotateSecret';
      rotation.endedDate = this.now();
    }
    secret.lastChangedDate = this.now();
    return prune({ ARN: secret.arn, Name: secret.name, VersionId: pending?.versionId });
  }

  /** DeleteSecret: a recovery window of 7–30 days (default 30), or immediate deletion. */
  deleteSecret(input: Input): Record<string, unknown> {
    const secret = this.get(requiredString(input, 'SecretId'));
    const window = optionalInteger(input, 'RecoveryWindowInDays');
    const force = optionalBoolean(input, 'ForceDeleteWithoutRecovery') ?? false;
    if (window !== undefined && force) {
      throw invalidParameter(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    if (window !== undefined && (window < 7 || window > 30)) {
      throw invalidParameter(
        'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
      );
    }
    const now = this.now();
    if (force) {
      this.secrets.delete(secret.arn);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(now) };
    }
    if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
    secret.deletedDate = now;
    secret.deletionDate = now + (window ?? 30) * DAY;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(secret.deletionDate) };
  }

  /** RestoreSecret: cancels a scheduled deletion. */
  restoreSecret(input: Input): Record<string, unknown> {
    const secret = this.get(requiredString(input, 'SecretId'));
    secret.deletedDate = undefined;
    secret.deletionDate = undefined;
    secret.lastChangedDate = this.now();
    return { ARN: secret.arn, Name: secret.name };
  }

  /** TagResource: adds tags, overwriting values of existing keys. */
  tagResource(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const tags = optionalTags(input);
    if (!tags) throw invalidParameter('Tags must not be empty.');
    const merged = dedupeTags(secret.tags, tags);
    if (merged.length > MAX_TAGS) throw limitExceeded('A secret can have at most 50 tags.');
    secret.tags = merged;
    secret.lastChangedDate = this.now();
    return {};
  }

  /** UntagResource. */
  untagResource(input: Input): Record<string, unknown> {
    const secret = this.getActive(requiredString(input, 'SecretId'));
    const keys = optionalStringList(input, 'TagKeys');
    if (!keys) throw invalidParameter('TagKeys must not be empty.');
    secret.tags = secret.tags.filter((t) => !keys.includes(t.Key));
    secret.lastChangedDate = this.now();
    return {};
  }

  // ---------------------------------------------------------------- rotation bookkeeping

  /** True while the rotation of `versionId` is still the secret's live attempt. */
  rotationIsLive(arn: string, versionId: string): boolean {
    const rotation = this.secrets.get(arn)?.rotation;
    return rotation?.versionId === versionId && rotation.state === 'InProgress';
  }

  /** Records that the runner is invoking `step`. */
  rotationStep(arn: string, versionId: string, step: RotationStep): void {
    const rotation = this.secrets.get(arn)?.rotation;
    if (rotation?.versionId === versionId) rotation.step = step;
  }

  /**
   * Records a failed step. Rotation stays pending: "When rotation is unsuccessful, the
   * AWSPENDING staging label might be attached to an empty secret version" (API
   * RotateSecret). A failed test-only run still removes its throw-away version's label.
   */
  rotationFailed(arn: string, versionId: string, step: RotationStep, message: string): void {
    const secret = this.secrets.get(arn);
    const rotation = secret?.rotation;
    if (!secret || rotation?.versionId !== versionId || rotation.state !== 'InProgress') return;
    rotation.state = 'Failed';
    rotation.step = step;
    // The function's text is foreign: it may quote a value (of this secret or of another it
    // read, such as an admin secret), and it is shown and persisted.
    const values = [...this.secrets.values()].flatMap(secretValuesOf);
    const scrubbed = redactValues(redactJsonParseQuotes(message), values);
    rotation.message = `Error when executing lambda ${secret.rotationLambdaArn ?? ''} during ${step} step: ${scrubbed}`;
    rotation.endedDate = this.now();
    if (rotation.mode === 'test') this.detachOwnPending(secret, versionId);
  }

  private detachOwnPending(secret: SecretRecord, versionId: string): void {
    const version = this.version(secret, versionId);
    if (version) version.stages = version.stages.filter((s) => s !== AWSPENDING);
    secret.lastChangedDate = this.now();
  }

  /**
   * Completes a rotation after finishSecret returned. "Our backend cleans up the pending
   * label on rotation completion" (AWS maintainer, aws-samples/...#145): AWSPENDING is
   * removed if the function left it, LastRotatedDate set and the next date computed. If
   * the function returned without making the version AWSCURRENT, the rotation fails.
   */
  rotationSucceeded(arn: string, versionId: string): void {
    const secret = this.secrets.get(arn);
    const rotation = secret?.rotation;
    if (!secret || rotation?.versionId !== versionId || rotation.state !== 'InProgress') return;
    const now = this.now();
    const version = this.version(secret, versionId);
    if (rotation.mode === 'rotate' && !version?.stages.includes(AWSCURRENT)) {
      rotation.state = 'Failed';
      rotation.step = 'finishSecret';
      rotation.message = `finishSecret returned, but version ${versionId} is not labelled AWSCURRENT`;
      rotation.endedDate = now;
      return;
    }
    this.detachOwnPending(secret, versionId);
    rotation.state = 'Succeeded';
    rotation.message = undefined;
    rotation.endedDate = now;
    if (rotation.mode === 'rotate') {
      secret.lastRotatedDate = now;
      secret.scheduleAnchor = now;
    }
    this.refreshSchedule(secret);
  }

  /** Secrets whose scheduled rotation is due at the current time. */
  dueForRotation(): string[] {
    const now = this.now();
    return [...this.secrets.values()]
      .filter((s) => s.rotationEnabled && s.deletedDate === undefined)
      .filter((s) => s.nextRotationDate !== undefined && s.nextRotationDate <= now)
      .map((s) => s.arn);
  }

  /** Permanently deletes secrets whose recovery window has ended; returns how many. */
  purgeExpired(): number {
    const now = this.now();
    let purged = 0;
    for (const secret of [...this.secrets.values()]) {
      if (secret.deletionDate !== undefined && secret.deletionDate <= now) {
        this.secrets.delete(secret.arn);
        purged++;
      }
    }
    return purged;
  }

  /**
   * Sets rotation configuration without rotating (used to seed example secrets): as if
   * RotateSecret with RotateImmediately=false had run and its test had passed.
   */
  configureRotation(secretId: string, functionArn: string, rules: RotationRules): void {
    const secret = this.getActive(secretId);
    parseRotationRules(rules);
    secret.rotationLambdaArn = functionArn;
    secret.rotationRules = rules;
    secret.rotationEnabled = true;
    secret.scheduleAnchor = secret.scheduleAnchor ?? this.now();
    this.refreshSchedule(secret);
  }
}

function dedupeTags(existing: Tag[], added: Tag[]): Tag[] {
  const byKey = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const t of added) byKey.set(t.Key, t.Value);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}
