import { invalidParameter, limitExceeded } from './errors.js';
import { type Input, optionalStringList, optionalTags, requiredString, type Tag } from './input.js';
import { MAX_TAGS } from './model.js';
import type { SecretTable } from './secretTable.js';

/** `existing` with `added` applied: a key keeps its position, its value is overwritten. */
export function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  const byKey = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const t of added) byKey.set(t.Key, t.Value);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

/** TagResource: adds tags, overwriting values of existing keys. */
export function tagResource(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId'));
  const tags = optionalTags(input);
  if (!tags) throw invalidParameter('Tags must not be empty.');
  const merged = mergeTags(secret.tags, tags);
  if (merged.length > MAX_TAGS) throw limitExceeded('A secret can have at most 50 tags.');
  secret.tags = merged;
  secret.lastChangedDate = table.now();
  return {};
}

/** UntagResource. */
export function untagResource(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId'));
  const keys = optionalStringList(input, 'TagKeys');
  if (!keys) throw invalidParameter('TagKeys must not be empty.');
  secret.tags = secret.tags.filter((t) => !keys.includes(t.Key));
  secret.lastChangedDate = table.now();
  return {};
}
