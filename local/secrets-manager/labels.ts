import { limitExceeded } from './errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  DAY,
  MAX_LABELS_PER_VERSION,
  MAX_VERSIONS,
  type SecretRecord,
  type VersionRecord,
} from './model.js';

/** The version with this id (its `ClientRequestToken`), if the secret has it. */
export function findVersion(secret: SecretRecord, versionId: string): VersionRecord | undefined {
  return secret.versions.find((v) => v.versionId === versionId);
}

/** The version a staging label is attached to; a label is on at most one version. */
export function labelHolder(secret: SecretRecord, label: string): VersionRecord | undefined {
  return secret.versions.find((v) => v.stages.includes(label));
}

/** Removes a label from whichever version holds it; returns that version. */
export function detachLabel(secret: SecretRecord, label: string): VersionRecord | undefined {
  const holder = labelHolder(secret, label);
  if (holder) holder.stages = holder.stages.filter((s) => s !== label);
  return holder;
}

/**
 * Moves a label onto `version`, with the service's side effect for AWSCURRENT.
 *
 * @throws ServiceException `LimitExceededException` when the version already has 20 labels.
 */
export function attachLabel(secret: SecretRecord, version: VersionRecord, label: string): void {
  if (version.stages.includes(label)) return;
  // Checked before anything changes, so a refused request leaves no partial move behind.
  if (version.stages.length >= MAX_LABELS_PER_VERSION) {
    throw limitExceeded('A version can have at most 20 staging labels.');
  }
  const from = detachLabel(secret, label);
  version.stages.push(label);
  // "Moving AWSCURRENT automatically moves AWSPREVIOUS onto the version it left" (API).
  if (label === AWSCURRENT && from && from !== version) {
    detachLabel(secret, AWSPREVIOUS);
    from.stages.push(AWSPREVIOUS);
  }
}

/** AWSPENDING on a version other than AWSCURRENT: a rotation is pending (API RotateSecret). */
export function pendingVersion(secret: SecretRecord): VersionRecord | undefined {
  const pending = labelHolder(secret, AWSPENDING);
  return pending && !pending.stages.includes(AWSCURRENT) ? pending : undefined;
}

/** Drops deprecated versions past 100, never ones younger than 24 hours (API PutSecretValue). */
export function pruneVersions(secret: SecretRecord, now: number): void {
  if (secret.versions.length <= MAX_VERSIONS) return;
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
