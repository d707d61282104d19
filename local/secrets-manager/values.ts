import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  invalidParameter,
  invalidRequest,
  limitExceeded,
  resourceExists,
  resourceNotFound,
} from './errors.js';
import { type Input, optionalString, optionalStringList, requiredString } from './input.js';
import {
  attachLabel,
  detachLabel,
  findVersion,
  labelHolder,
  pendingVersion,
  pruneVersions,
} from './labels.js';
import {
  AWSCURRENT,
  AWSPENDING,
  MAX_LABELS_PER_VERSION,
  readToken,
  readValue,
  type SecretRecord,
  type SecretValue,
  seconds,
  startOfUtcDay,
  type VersionRecord,
  valueOut,
} from './model.js';
import { reconcileRotation, refreshSchedule } from './rotationState.js';
import type { SecretTable } from './secretTable.js';

// Secret values and their staging labels: writing a version (with the service's
// idempotency on `ClientRequestToken`), reading one by id or label, and moving labels.
// A write or label move that takes AWSPENDING away ends the rotation that owned it.

/**
 * Adds a value as a new version or, for an existing ClientRequestToken, applies the
 * documented idempotency: same value → ignored; different value → ResourceExistsException;
 * RotateSecret's empty AWSPENDING placeholder → filled by the first put.
 */
export function writeValue(
  table: SecretTable,
  secret: SecretRecord,
  value: SecretValue,
  token: string,
  stages: string[] | undefined,
): VersionRecord {
  const now = table.now();
  const existing = findVersion(secret, token);
  if (existing) {
    if (existing.value === undefined) {
      existing.value = value;
      for (const label of stages ?? []) attachLabel(secret, existing, label);
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
  if (pendingVersion(secret) && !finalLabels.includes(AWSPENDING)) {
    // CloudTrail RotationAbandoned: "Secrets Manager abandons a rotation attempt and removes
    // the AWSPENDING label from an existing version ... when you create a new version of a
    // secret during rotation" (User Guide, retrieve-ct-entries).
    detachLabel(secret, AWSPENDING);
    reconcileRotation(
      secret,
      'Rotation abandoned: a new secret value was written during rotation',
      now,
    );
  }
  for (const label of finalLabels) attachLabel(secret, version, label);
  reconcileRotation(secret, 'Rotation abandoned: AWSPENDING moved to another version', now);
  if (finalLabels.includes(AWSCURRENT)) {
    // "Manually updating the secret value ... is considered a valid rotation" (API RotationRulesType).
    secret.scheduleAnchor = now;
    refreshSchedule(secret);
  }
  secret.lastChangedDate = now;
  pruneVersions(secret, now);
  return version;
}

/** GetSecretValue. */
export function getSecretValue(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId'));
  const versionId = optionalString(input, 'VersionId');
  const stage = optionalString(input, 'VersionStage');
  let version: VersionRecord | undefined;
  if (versionId !== undefined) {
    version = findVersion(secret, versionId);
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
    version = labelHolder(secret, label);
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
  const today = startOfUtcDay(table.now());
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
export function putSecretValue(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId'));
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
  const version = writeValue(table, secret, value, token, stages);
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    VersionStages: [...version.stages],
  };
}

/** UpdateSecretVersionStage: moves, attaches or removes one staging label. */
export function updateSecretVersionStage(
  table: SecretTable,
  input: Input,
): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId'));
  const label = requiredString(input, 'VersionStage', { min: 1, max: 256 });
  const moveTo = optionalString(input, 'MoveToVersionId', { min: 32, max: 64 });
  const removeFrom = optionalString(input, 'RemoveFromVersionId', { min: 32, max: 64 });
  const holder = labelHolder(secret, label);
  if (removeFrom !== undefined) {
    const from = findVersion(secret, removeFrom);
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
    const target = findVersion(secret, moveTo);
    if (!target)
      throw resourceNotFound(`Secrets Manager can't find the specified secret version: ${moveTo}`);
    if (holder && holder !== target && removeFrom !== holder.versionId) {
      // Wording as reproduced by moto from the service (API: "If the label is attached and
      // you either do not specify this parameter, or the version ID does not match, then
      // the operation fails").
      throw invalidParameter(
        `The parameter RemoveFromVersionId can't be empty. Staging label ${label} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    attachLabel(secret, target, label);
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
    detachLabel(secret, label);
  }
  const now = table.now();
  reconcileRotation(secret, 'Rotation abandoned: AWSPENDING was removed from the version', now);
  secret.lastChangedDate = now;
  return { ARN: secret.arn, Name: secret.name };
}
