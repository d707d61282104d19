import { InvalidEventError } from '../errors.js';
import { ROTATION_STEPS, type RotationEvent, type RotationStep } from './types.js';

const PRINTABLE_ASCII = /^[ -~]+$/;
const ROTATION_TOKEN = /^[a-zA-Z0-9-]+$/;

function requireString(event: Record<string, unknown>, field: string): string {
  const value = event[field];
  if (value === undefined || value === null) throw new InvalidEventError(field, 'is missing');
  if (typeof value !== 'string')
    throw new InvalidEventError(field, `must be a string, got ${typeof value}`);
  if (value.trim() === '') throw new InvalidEventError(field, 'must not be empty');
  // AWS's newer template rejects anything outside printable ASCII; so do we.
  if (!PRINTABLE_ASCII.test(value)) throw new InvalidEventError(field, 'must be printable ASCII');
  return value;
}

/**
 * Checks a Secrets Manager rotation event and returns it typed. Throws
 * {@link InvalidEventError} naming the first bad field; never echoes `RotationToken`.
 */
export function validateRotationEvent(event: unknown): RotationEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError('event', 'must be an object');
  }
  const input = event as Record<string, unknown>;
  const step = requireString(input, 'Step');
  if (!(ROTATION_STEPS as readonly string[]).includes(step)) {
    throw new InvalidEventError('Step', `must be one of ${ROTATION_STEPS.join(', ')}`);
  }
  const secretId = requireString(input, 'SecretId');
  // API SecretIdType: 1–2,048 characters; a longer id would only fail later, unnamed.
  if (secretId.length > 2_048) {
    throw new InvalidEventError('SecretId', 'must be at most 2048 characters long');
  }
  const token = requireString(input, 'ClientRequestToken');
  // API ClientRequestTokenType / SecretVersionIdType: 32–64 characters.
  if (token.length < 32 || token.length > 64) {
    throw new InvalidEventError('ClientRequestToken', 'must be 32 to 64 characters long');
  }
  const result: RotationEvent = {
    Step: step as RotationStep,
    SecretId: secretId,
    ClientRequestToken: token,
  };
  if (input.RotationToken !== undefined && input.RotationToken !== null) {
    const rotationToken = input.RotationToken;
    // API RotationTokenType: 36–256 characters of [a-zA-Z0-9-]. The value is not quoted.
    if (typeof rotationToken !== 'string' || !ROTATION_TOKEN.test(rotationToken)) {
      throw new InvalidEventError(
        'RotationToken',
        'must be a string of letters, digits and dashes',
      );
    }
    if (rotationToken.length < 36 || rotationToken.length > 256) {
      throw new InvalidEventError('RotationToken', 'must be 36 to 256 characters long');
    }
    result.RotationToken = rotationToken;
  }
  return result;
}
