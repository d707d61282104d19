import {
  type Filter,
  ListSecretsCommand,
  type SecretListEntry,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { UsageError } from './errors.js';

/** The list-secrets filters the fleet commands take, as `aws secretsmanager list-secrets`. */
export interface SecretFilterOptions {
  'name-prefix'?: string[];
  'tag-key'?: string[];
  'tag-value'?: string[];
}

/** parseArgs options for {@link SecretFilterOptions} (each may be repeated). */
export const SECRET_FILTER_OPTIONS = {
  'name-prefix': { type: 'string', multiple: true },
  'tag-key': { type: 'string', multiple: true },
  'tag-value': { type: 'string', multiple: true },
} as const;

/**
 * ListSecrets filters from the options: `--name-prefix` is the service's `name` filter
 * (which matches names starting with the value), `--tag-key`/`--tag-value` its tag filters;
 * values of one option are alternatives, options are combined (the service's AND).
 */
export function secretFilters(options: SecretFilterOptions): Filter[] {
  const filters: Filter[] = [];
  const add = (key: Filter['Key'], values: string[] | undefined, option: string) => {
    if (!values || values.length === 0) return;
    if (values.length > 10) throw new UsageError(`--${option} takes at most 10 values`);
    for (const value of values) {
      if (value === '' || value.length > 512) {
        throw new UsageError(`--${option} must be 1 to 512 characters`);
      }
    }
    filters.push({ Key: key, Values: values });
  };
  add('name', options['name-prefix'], 'name-prefix');
  add('tag-key', options['tag-key'], 'tag-key');
  add('tag-value', options['tag-value'], 'tag-value');
  return filters;
}

/** Every secret matching `filters`, all pages (100 a page), secrets scheduled for deletion left out. */
export async function listSecrets(
  client: SecretsManagerClient,
  filters: Filter[],
): Promise<SecretListEntry[]> {
  const entries: SecretListEntry[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListSecretsCommand({
        MaxResults: 100,
        ...(filters.length > 0 ? { Filters: filters } : {}),
        ...(token ? { NextToken: token } : {}),
      }),
    );
    entries.push(...(page.SecretList ?? []));
    token = page.NextToken;
  } while (token);
  return entries;
}
