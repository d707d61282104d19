import { detachLabel, findVersion } from './labels.js';
import { AWSPENDING, type RotationRecord, type SecretRecord } from './model.js';
import { nextRotationTime, parseRotationRules } from './schedule.js';

/** A rotation that has not reached an end the service would report as settled. */
export function isUnfinished(rotation: RotationRecord | undefined): rotation is RotationRecord {
  return (
    rotation !== undefined &&
    (rotation.state === 'InProgress' ||
      rotation.state === 'Failed' ||
      rotation.state === 'Interrupted')
  );
}

/** Recomputes NextRotationDate from the rules and the anchor; cleared when rotation is off. */
export function refreshSchedule(secret: SecretRecord): void {
  const schedule = secret.rotationRules ? parseRotationRules(secret.rotationRules) : undefined;
  if (!secret.rotationEnabled || !schedule || secret.scheduleAnchor === undefined) {
    if (!secret.rotationEnabled) secret.nextRotationDate = undefined;
    return;
  }
  secret.nextRotationDate = nextRotationTime(schedule, secret.scheduleAnchor);
}

/** Marks the latest rotation abandoned when its version lost AWSPENDING some other way. */
export function reconcileRotation(secret: SecretRecord, reason: string, now: number): void {
  const rotation = secret.rotation;
  if (!isUnfinished(rotation)) return;
  const version = findVersion(secret, rotation.versionId);
  if (version?.stages.includes(AWSPENDING)) return;
  rotation.state = 'Abandoned';
  rotation.message = reason;
  rotation.endedDate = now;
}

/**
 * A secret loaded from disk whose rotation was running when the process stopped: no job
 * survives a restart, so the rotation is recorded as interrupted (and a test-only run's
 * throw-away AWSPENDING label removed, as its end would have).
 */
export function interruptByRestart(secret: SecretRecord, now: number): void {
  const rotation = secret.rotation;
  if (rotation?.state !== 'InProgress') return;
  rotation.state = 'Interrupted';
  rotation.message = `The local Secrets Manager stopped during ${rotation.step ?? 'rotation'}`;
  rotation.endedDate = now;
  if (rotation.mode === 'test') detachLabel(secret, AWSPENDING);
}
