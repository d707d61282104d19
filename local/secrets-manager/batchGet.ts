import { invalidParameter, ServiceException } from './errors.js';
import { type Input, optionalInteger, optionalString, optionalStringList } from './input.js';
import { parseFilters } from './listFilters.js';
import { matchingSecrets } from './listing.js';
import { decodeToken, encodeToken, prune } from './model.js';
import type { SecretTable } from './secretTable.js';
import { getSecretValue } from './values.js';

// BatchGetSecretValue: up to 20 AWSCURRENT values, named by a list of ids or chosen by
// ListSecrets' filters. Each secret is read exactly as GetSecretValue reads it; a secret that
// cannot be read becomes an entry of `Errors` with the error GetSecretValue would have raised.

/** API `SecretIdListType` and `MaxResultsBatchType`: at most 20 per call. */
const BATCH = 20;

function readOne(
  table: SecretTable,
  secretId: string,
): { value: Record<string, unknown> } | { error: Record<string, unknown> } {
  try {
    return { value: getSecretValue(table, { SecretId: secretId }) };
  } catch (error) {
    if (!(error instanceof ServiceException)) throw error;
    return { error: { SecretId: secretId, ErrorCode: error.type, Message: error.message } };
  }
}

function collect(table: SecretTable, ids: string[]): Record<string, unknown> {
  const SecretValues: Record<string, unknown>[] = [];
  const Errors: Record<string, unknown>[] = [];
  for (const id of ids) {
    const outcome = readOne(table, id);
    if ('value' in outcome) SecretValues.push(outcome.value);
    else Errors.push(outcome.error);
  }
  return { SecretValues, Errors };
}

/** BatchGetSecretValue: `SecretIdList` xor `Filters`; `MaxResults`/`NextToken` with filters. */
export function batchGetSecretValue(table: SecretTable, input: Input): Record<string, unknown> {
  const ids = optionalStringList(input, 'SecretIdList');
  const hasFilters = input.Filters !== undefined && input.Filters !== null;
  if ((ids !== undefined) === hasFilters) {
    throw invalidParameter('You must include Filters or SecretIdList, but not both.');
  }
  const max = optionalInteger(input, 'MaxResults');
  const offset = decodeToken(optionalString(input, 'NextToken', { min: 1, max: 4096 }));
  if (ids !== undefined) {
    if (max !== undefined) {
      throw invalidParameter('MaxResults can be used only with the Filters parameter.');
    }
    if (ids.length < 1 || ids.length > BATCH) {
      throw invalidParameter(`SecretIdList must hold 1-${BATCH} secret ids.`);
    }
    if (ids.some((id) => id.length < 1 || id.length > 2048)) {
      throw invalidParameter('Each SecretId must be 1-2048 characters long.');
    }
    return collect(table, ids);
  }
  const size = max ?? BATCH;
  if (size < 1 || size > BATCH)
    throw invalidParameter(`MaxResults must be between 1 and ${BATCH}.`);
  const matches = matchingSecrets(table, parseFilters(input.Filters), false, 'asc');
  const page = matches.slice(offset, offset + size);
  return prune({
    ...collect(
      table,
      page.map((s) => s.arn),
    ),
    NextToken: offset + size < matches.length ? encodeToken(offset + size) : undefined,
  });
}
