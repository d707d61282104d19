import {
  invalidParameter,
  invalidRequest,
  MARKED_FOR_DELETION,
  resourceNotFound,
} from './errors.js';
import { type Input, optionalBoolean, optionalInteger, requiredString } from './input.js';
import { DAY, seconds } from './model.js';
import type { SecretTable } from './secretTable.js';

// Deleting secrets: scheduled deletion with a recovery window (the secret stays, refused by
// most operations, until the window ends), restoring within it, and the purge the scheduler
// runs once a window has ended.

/** DeleteSecret: a recovery window of 7–30 days (default 30), or immediate deletion. */
export function deleteSecret(table: SecretTable, input: Input): Record<string, unknown> {
  const secretId = requiredString(input, 'SecretId');
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
  const now = table.now();
  const secret = table.find(secretId);
  if (!secret) {
    // "If you forcibly delete an already deleted or nonexistent secret, the operation does not
    // return ResourceNotFoundException" (API DeleteSecret). The id is echoed back as given.
    if (force)
      return {
        [secretId.startsWith('arn:') ? 'ARN' : 'Name']: secretId,
        DeletionDate: seconds(now),
      };
    throw resourceNotFound();
  }
  // A write view refuses a replica (read-only) here, as every other write does through get.
  table.get(secretId);
  if (force) {
    table.remove(secret.arn);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(now) };
  }
  if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
  secret.deletedDate = now;
  secret.deletionDate = now + (window ?? 30) * DAY;
  return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(secret.deletionDate) };
}

/** RestoreSecret: cancels a scheduled deletion. */
export function restoreSecret(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.get(requiredString(input, 'SecretId'));
  secret.deletedDate = undefined;
  secret.deletionDate = undefined;
  secret.lastChangedDate = table.now();
  return { ARN: secret.arn, Name: secret.name };
}

/** Permanently deletes secrets whose recovery window has ended; returns how many. */
export function purgeExpired(table: SecretTable): number {
  const now = table.now();
  let purged = 0;
  for (const secret of table.all()) {
    if (secret.deletionDate !== undefined && secret.deletionDate <= now) {
      table.remove(secret.arn);
      purged++;
    }
  }
  return purged;
}
