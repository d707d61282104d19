import { randomUUID } from 'node:crypto';
import type { RotationStep } from '../../shared/engine/types.js';
import { invalidParameter, invalidRequest, resourceExists } from './errors.js';
import {
  type Input,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  requiredString,
} from './input.js';
import { detachLabel, findVersion, labelHolder, pendingVersion, pruneVersions } from './labels.js';
import {
  AWSCURRENT,
  AWSPENDING,
  prune,
  type RotateOutcome,
  type RotationJob,
  readToken,
  type SecretRecord,
  type StoreOptions,
  type VersionRecord,
} from './model.js';
import { redactJsonParseQuotes, redactValues, secretValuesOf } from './redaction.js';
import { isUnfinished, refreshSchedule } from './rotationState.js';
import { parseRotationRules, type RotationRules, ScheduleError } from './schedule.js';
import type { SecretTable } from './secretTable.js';

/** Options of {@link RotationLifecycle}: what it asks the rotation runner, as the store got it. */
export type RotationLifecycleOptions = Required<
  Pick<StoreOptions, 'functionExists' | 'isRotationRunning'>
>;

/**
 * Rotation as the service keeps its books: RotateSecret and CancelRotateSecret, scheduled
 * starts, and the record of each attempt (step, failure, success) that the runner reports
 * as it invokes the function. The function's own work (the four steps) is the runner's.
 */
export class RotationLifecycle {
  readonly #table: SecretTable;
  readonly #functionExists: (arnOrName: string) => boolean;
  readonly #isRotationRunning: (arn: string) => boolean;

  constructor(table: SecretTable, options: RotationLifecycleOptions) {
    this.#table = table;
    this.#functionExists = options.functionExists;
    this.#isRotationRunning = options.isRotationRunning;
  }

  /**
   * RotateSecret: validates the configuration, refuses while a previous rotation is pending
   * (and re-attempts it, as the service's message promises), else creates the new version
   * labelled AWSPENDING without a value and hands back the job the runner must do.
   */
  rotateSecret(input: Input): RotateOutcome {
    const secret = this.#table.getActive(requiredString(input, 'SecretId'));
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
    const pending = pendingVersion(secret);
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
        this.#isRotationRunning(secret.arn) ||
        !this.#functionExists(functionArn)
      ) {
        return { kind: 'refused', error };
      }
      this.#recordAttempt(secret, pending.versionId, mode);
      return {
        kind: 'refused',
        error,
        resume: { arn: secret.arn, versionId: pending.versionId, mode, functionArn },
      };
    }
    if (this.#isRotationRunning(secret.arn)) {
      throw invalidRequest('Previous rotation request is still in progress.');
    }
    const functionArn = lambdaArn ?? secret.rotationLambdaArn;
    if (!functionArn) {
      // The service's wording, as quoted from the AWS CLI in getmoto/moto#3912.
      throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
    }
    if (!this.#functionExists(functionArn)) {
      throw invalidRequest(
        `Secrets Manager cannot invoke the specified Lambda function ${functionArn}: the local function registry has no such function.`,
      );
    }
    const token = requestedToken ?? randomUUID();
    if (findVersion(secret, token)) {
      throw resourceExists(
        `A version with the ClientRequestToken ${token} already exists for this secret.`,
      );
    }
    const now = this.#table.now();
    secret.rotationLambdaArn = functionArn;
    if (rules) secret.rotationRules = rules;
    secret.rotationEnabled = true;
    // A stale AWSPENDING left on AWSCURRENT (a valid end state) moves to the new version.
    detachLabel(secret, AWSPENDING);
    const current = labelHolder(secret, AWSCURRENT);
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
    refreshSchedule(secret);
    secret.lastChangedDate = now;
    pruneVersions(secret, now);
    return {
      kind: 'started',
      response: { ARN: secret.arn, Name: secret.name, VersionId: token },
      job: { arn: secret.arn, versionId: token, mode, functionArn },
    };
  }

  #recordAttempt(secret: SecretRecord, versionId: string, mode: 'rotate' | 'test'): void {
    const previous = secret.rotation?.versionId === versionId ? secret.rotation.attempts : 0;
    secret.rotation = {
      versionId,
      mode,
      state: 'InProgress',
      startedDate: this.#table.now(),
      attempts: previous + 1,
    };
  }

  /**
   * Starts the rotation a schedule made due. Returns undefined when nothing may start (a
   * rotation is pending or running, or no function is configured).
   */
  startScheduledRotation(arn: string): RotationJob | undefined {
    const secret = this.#table.byArn(arn);
    if (!secret || secret.deletedDate !== undefined || !secret.rotationEnabled) return undefined;
    if (pendingVersion(secret) || this.#isRotationRunning(arn)) return undefined;
    try {
      const outcome = this.rotateSecret({ SecretId: arn });
      return outcome.kind === 'started' ? outcome.job : undefined;
    } catch {
      return undefined;
    }
  }

  /** CancelRotateSecret: turns rotation off; leaves AWSPENDING where it is, as AWS does. */
  cancelRotateSecret(input: Input): Record<string, unknown> {
    const secret = this.#table.getActive(requiredString(input, 'SecretId'));
    const pending = pendingVersion(secret);
    secret.rotationEnabled = false;
    secret.nextRotationDate = undefined;
    const rotation = secret.rotation;
    if (isUnfinished(rotation)) {
      rotation.state = 'Cancelled';
      rotation.message = 'Rotation cancelled by CancelRotateSecret';
      rotation.endedDate = this.#table.now();
    }
    secret.lastChangedDate = this.#table.now();
    return prune({ ARN: secret.arn, Name: secret.name, VersionId: pending?.versionId });
  }

  /** True while the rotation of `versionId` is still the secret's live attempt. */
  rotationIsLive(arn: string, versionId: string): boolean {
    const rotation = this.#table.byArn(arn)?.rotation;
    return rotation?.versionId === versionId && rotation.state === 'InProgress';
  }

  /** Records that the runner is invoking `step`. */
  rotationStep(arn: string, versionId: string, step: RotationStep): void {
    const rotation = this.#table.byArn(arn)?.rotation;
    if (rotation?.versionId === versionId) rotation.step = step;
  }

  /**
   * Records a failed step. Rotation stays pending: "When rotation is unsuccessful, the
   * AWSPENDING staging label might be attached to an empty secret version" (API
   * RotateSecret). A failed test-only run still removes its throw-away version's label.
   */
  rotationFailed(arn: string, versionId: string, step: RotationStep, message: string): void {
    const secret = this.#table.byArn(arn);
    const rotation = secret?.rotation;
    if (!secret || rotation?.versionId !== versionId || rotation.state !== 'InProgress') return;
    rotation.state = 'Failed';
    rotation.step = step;
    // The function's text is foreign: it may quote a value (of this secret or of another it
    // read, such as an admin secret), and it is shown and persisted.
    const values = this.#table.all().flatMap(secretValuesOf);
    const scrubbed = redactValues(redactJsonParseQuotes(message), values);
    rotation.message = `Error when executing lambda ${secret.rotationLambdaArn ?? ''} during ${step} step: ${scrubbed}`;
    rotation.endedDate = this.#table.now();
    if (rotation.mode === 'test') this.#detachOwnPending(secret, versionId);
  }

  #detachOwnPending(secret: SecretRecord, versionId: string): void {
    const version = findVersion(secret, versionId);
    if (version) version.stages = version.stages.filter((s) => s !== AWSPENDING);
    secret.lastChangedDate = this.#table.now();
  }

  /**
   * Completes a rotation after finishSecret returned. "Our backend cleans up the pending
   * label on rotation completion" (AWS maintainer, aws-samples/...#145): AWSPENDING is
   * removed if the function left it, LastRotatedDate set and the next date computed. If
   * the function returned without making the version AWSCURRENT, the rotation fails.
   */
  rotationSucceeded(arn: string, versionId: string): void {
    const secret = this.#table.byArn(arn);
    const rotation = secret?.rotation;
    if (!secret || rotation?.versionId !== versionId || rotation.state !== 'InProgress') return;
    const now = this.#table.now();
    const version = findVersion(secret, versionId);
    if (rotation.mode === 'rotate' && !version?.stages.includes(AWSCURRENT)) {
      rotation.state = 'Failed';
      rotation.step = 'finishSecret';
      rotation.message = `finishSecret returned, but version ${versionId} is not labelled AWSCURRENT`;
      rotation.endedDate = now;
      return;
    }
    this.#detachOwnPending(secret, versionId);
    rotation.state = 'Succeeded';
    rotation.message = undefined;
    rotation.endedDate = now;
    if (rotation.mode === 'rotate') {
      secret.lastRotatedDate = now;
      secret.scheduleAnchor = now;
    }
    refreshSchedule(secret);
  }

  /** Secrets whose scheduled rotation is due at the current time. */
  dueForRotation(): string[] {
    const now = this.#table.now();
    return this.#table
      .all()
      .filter((s) => s.rotationEnabled && s.deletedDate === undefined)
      .filter((s) => s.nextRotationDate !== undefined && s.nextRotationDate <= now)
      .map((s) => s.arn);
  }

  /**
   * Sets rotation configuration without rotating (used to seed example secrets): as if
   * RotateSecret with RotateImmediately=false had run and its test had passed.
   */
  configureRotation(secretId: string, functionArn: string, rules: RotationRules): void {
    const secret = this.#table.getActive(secretId);
    parseRotationRules(rules);
    secret.rotationLambdaArn = functionArn;
    secret.rotationRules = rules;
    secret.rotationEnabled = true;
    secret.scheduleAnchor = secret.scheduleAnchor ?? this.#table.now();
    refreshSchedule(secret);
  }
}
