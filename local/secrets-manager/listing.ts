import { isAwsManagedKey } from '../../shared/secrets/resourcePolicy.js';
import { invalidParameter } from './errors.js';
import {
  type Input,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
} from './input.js';
import { type Filter, filterMatches, parseFilters } from './listFilters.js';
import { decodeToken, encodeToken, prune, type SecretRecord, seconds } from './model.js';
import type { SecretTable } from './secretTable.js';

// The read-only views of secrets' metadata: DescribeSecret, ListSecrets (filters, order,
// pages) and ListSecretVersionIds, plus the local extension reporting the latest rotation.
// Nothing here returns a secret value.

/** DescribeSecret (works on secrets scheduled for deletion: it reports DeletedDate). */
export function describeSecret(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.get(requiredString(input, 'SecretId'));
  return {
    ...metadata(secret, 'VersionIdsToStages'),
    LocalRotationStatus: rotationStatus(secret),
  };
}

/** The local extension field: the latest rotation's state, step and error message. */
export function rotationStatus(secret: SecretRecord): Record<string, unknown> | undefined {
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

/** ListSecrets with Filters (name, description, tag-key, tag-value, all; `!` negation). */
export function listSecrets(table: SecretTable, input: Input): Record<string, unknown> {
  const max = optionalInteger(input, 'MaxResults') ?? 100;
  if (max < 1 || max > 100) throw invalidParameter('MaxResults must be between 1 and 100.');
  const includeDeleted = optionalBoolean(input, 'IncludePlannedDeletion') ?? false;
  const sortOrder = optionalString(input, 'SortOrder') ?? 'asc';
  if (sortOrder !== 'asc' && sortOrder !== 'desc')
    throw invalidParameter('SortOrder must be asc or desc.');
  const matches = matchingSecrets(table, parseFilters(input.Filters), includeDeleted, sortOrder);
  const offset = decodeToken(optionalString(input, 'NextToken'));
  const page = matches.slice(offset, offset + max);
  const next = offset + max < matches.length ? encodeToken(offset + max) : undefined;
  return prune({
    SecretList: page.map((s) => metadata(s, 'SecretVersionsToStages')),
    NextToken: next,
  });
}

/** The secrets every filter matches, by creation date (ListSecrets, BatchGetSecretValue). */
export function matchingSecrets(
  table: SecretTable,
  filters: Filter[],
  includeDeleted: boolean,
  sortOrder: 'asc' | 'desc',
): SecretRecord[] {
  return table
    .all()
    .filter((s) => includeDeleted || s.deletedDate === undefined)
    .filter((s) => filters.every((f) => filterMatches(f, s)))
    .sort(
      (a, b) =>
        (a.createdDate - b.createdDate || a.name.localeCompare(b.name)) *
        (sortOrder === 'asc' ? 1 : -1),
    );
}

/** ListSecretVersionIds; deprecated (unlabelled) versions only with IncludeDeprecated. */
export function listSecretVersionIds(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId'));
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

function metadata(secret: SecretRecord, stagesField: string): Record<string, unknown> {
  const stages: Record<string, string[]> = {};
  // "VersionIdsToStages lists only versions that have labels" (API DescribeSecret).
  for (const v of secret.versions) if (v.stages.length > 0) stages[v.versionId] = [...v.stages];
  return prune({
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    // "If the secret is encrypted with the AWS managed key aws/secretsmanager, this field is
    // omitted" (API DescribeSecret, SecretListEntry).
    KmsKeyId: isAwsManagedKey(secret.kmsKeyId) ? undefined : secret.kmsKeyId,
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
