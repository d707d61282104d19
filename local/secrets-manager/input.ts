import { validation } from './errors.js';

/** A request body as decoded from JSON. */
export type Input = Record<string, unknown>;

/** A tag as the API spells it. */
export interface Tag {
  Key: string;
  Value: string;
}

function fail(name: string, constraint: string) {
  // Secrets Manager reports model violations as ValidationException with this wording.
  return validation(
    `1 validation error detected: Value at '${name}' failed to satisfy constraint: ${constraint}`,
  );
}

/** Reads an optional string member, enforcing the model's length bounds. */
export function optionalString(
  input: Input,
  name: string,
  bounds: { min?: number; max?: number } = {},
): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw fail(name, 'Member must be a string');
  if (bounds.min !== undefined && value.length < bounds.min) {
    throw fail(name, `Member must have length greater than or equal to ${bounds.min}`);
  }
  if (bounds.max !== undefined && value.length > bounds.max) {
    throw fail(name, `Member must have length less than or equal to ${bounds.max}`);
  }
  return value;
}

/** Reads a required string member. */
export function requiredString(
  input: Input,
  name: string,
  bounds: { min?: number; max?: number } = {},
): string {
  const value = optionalString(input, name, bounds);
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** Reads an optional boolean member. */
export function optionalBoolean(input: Input, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw fail(name, 'Member must be a boolean');
  return value;
}

/** Reads an optional integer member. */
export function optionalInteger(input: Input, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw fail(name, 'Member must be an integer');
  }
  return value;
}

/** Reads an optional list of strings. */
export function optionalStringList(input: Input, name: string): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw fail(name, 'Member must be a list of strings');
  }
  return value as string[];
}

/** Reads an optional object member. */
export function optionalObject(input: Input, name: string): Input | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw fail(name, 'Member must be a structure');
  return value as Input;
}

/** Reads a `Tags` list: keys 1–128, values 0–256 characters (API `Tag`). */
export function optionalTags(input: Input, name = 'Tags'): Tag[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw fail(name, 'Member must be a list of Tag');
  return value.map((raw, i) => {
    const tag = (raw ?? {}) as Input;
    const Key = requiredString(tag, 'Key', { min: 1, max: 128 });
    const Value = optionalString(tag, 'Value', { max: 256 }) ?? '';
    if (typeof raw !== 'object') throw fail(`${name}.${i + 1}`, 'Member must be a Tag');
    return { Key, Value };
  });
}
