import { validation } from '../secrets-manager/errors.js';
import { type Input, optionalObject } from '../secrets-manager/input.js';

/** A model violation, worded as AWS's JSON services word it. */
export function constraint(name: string, text: string) {
  return validation(
    `1 validation error detected: Value at '${name}' failed to satisfy constraint: ${text}`,
  );
}

/** Reads an optional blob member (base64 in JSON), enforcing the model's length bounds. */
export function optionalBlob(
  input: Input,
  name: string,
  bounds: { min: number; max: number },
): Buffer | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw constraint(name, 'Member must be a blob');
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < bounds.min) {
    throw constraint(name, `Member must have length greater than or equal to ${bounds.min}`);
  }
  if (bytes.length > bounds.max) {
    throw constraint(name, `Member must have length less than or equal to ${bounds.max}`);
  }
  return bytes;
}

/** Reads a required blob member. */
export function requiredBlob(input: Input, name: string, bounds: { min: number; max: number }) {
  const bytes = optionalBlob(input, name, bounds);
  if (bytes === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return bytes;
}

/** Reads an optional map of strings to strings (KMS `EncryptionContextType`). */
export function optionalStringMap(input: Input, name: string): Record<string, string> {
  const value = optionalObject(input, name);
  if (!value) return {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw constraint(`${name}.${key}`, 'Member must be a string');
  }
  return value as Record<string, string>;
}

/** Checks an integer member is within the model's range. */
export function checkRange(name: string, value: number | undefined, min: number, max: number) {
  if (value === undefined) return;
  if (value < min) throw constraint(name, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraint(name, `Member must have value less than or equal to ${max}`);
}
