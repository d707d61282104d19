import { invalidParameter } from './errors.js';
import { type Input, optionalStringList, requiredString } from './input.js';
import type { SecretRecord } from './model.js';
import { primaryRegionOf } from './regions.js';

/** One ListSecrets filter (API `Filter`). */
export interface Filter {
  key: string;
  values: string[];
}

const FILTER_KEYS = [
  'description',
  'name',
  'tag-key',
  'tag-value',
  'primary-region',
  'owning-service',
  'all',
];

/** Validates the `Filters` member of ListSecrets. */
export function parseFilters(raw: unknown): Filter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalidParameter('Filters must be a list.');
  return raw.map((f) => {
    const filter = (f ?? {}) as Input;
    const key = requiredString(filter, 'Key');
    if (!FILTER_KEYS.includes(key)) {
      throw invalidParameter(`Invalid filter key: ${key}. Valid keys: ${FILTER_KEYS.join(', ')}.`);
    }
    const values = optionalStringList(filter, 'Values') ?? [];
    if (values.length < 1 || values.length > 10) {
      throw invalidParameter('A filter needs 1-10 values.');
    }
    return { key, values };
  });
}

function words(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9])/g, '$1 $2')
    .replace(/([0-9])([A-Za-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/**
 * One filter: values are prefix matches (case-sensitive except description and all), OR-ed;
 * a value starting with `!` negates (API `Filter`). Filters are AND-ed by the caller.
 */
export function filterMatches(filter: Filter, secret: SecretRecord): boolean {
  const candidates = (): string[] => {
    switch (filter.key) {
      case 'name':
        return [secret.name];
      case 'description':
        return secret.description === undefined ? [] : [secret.description];
      case 'tag-key':
        return secret.tags.map((t) => t.Key);
      case 'tag-value':
        return secret.tags.map((t) => t.Value);
      case 'primary-region': {
        const primary = primaryRegionOf(secret);
        return primary === undefined ? [] : [primary];
      }
      case 'owning-service':
        return [];
      default:
        return [
          secret.name,
          secret.description ?? '',
          ...secret.tags.flatMap((t) => [t.Key, t.Value]),
        ];
    }
  };
  const caseless = filter.key === 'description' || filter.key === 'all';
  const fields = candidates();
  const matchesValue = (value: string): boolean => {
    if (filter.key === 'all') {
      const haystack = fields.flatMap(words);
      return words(value).every((w) => haystack.some((h) => h.startsWith(w)));
    }
    const needle = caseless ? value.toLowerCase() : value;
    return fields.some((f) => (caseless ? f.toLowerCase() : f).startsWith(needle));
  };
  const positive = filter.values.filter((v) => !v.startsWith('!'));
  const negative = filter.values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  if (negative.some(matchesValue)) return false;
  return positive.length === 0 || positive.some(matchesValue);
}
