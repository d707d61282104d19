import { SecretFormatError } from '../errors.js';

/**
 * Parses a `SecretString` that must be a JSON object; names the problem (and `field`, the
 * version or secret it came from), never the value.
 *
 * @example
 * ```ts
 * const fields = parseSecretObject(await request.current());
 * ```
 */
export function parseSecretObject(
  secretString: string,
  field = 'SecretString',
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new SecretFormatError(field, 'is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretFormatError(field, 'must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
