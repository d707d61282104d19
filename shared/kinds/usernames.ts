import { SecretFormatError, UsernameLengthError } from '../errors.js';

/** The suffix alternating-users rotation toggles, as AWS's functions. */
export const CLONE_SUFFIX = '_clone';

/** How an engine counts username length. */
export interface UsernameLimit {
  readonly max: number;
  /** PostgreSQL counts bytes (NAMEDATALEN-1); MySQL/MariaDB count characters. */
  readonly unit: 'bytes' | 'characters';
  /**
   * Names may only hold characters of the Basic Multilingual Plane (MySQL/MariaDB keep user
   * names in utf8mb3, which has no 4-byte UTF-8 characters).
   */
  readonly bmpOnly?: boolean;
}

/** A character outside the Basic Multilingual Plane (4 bytes in UTF-8). */
const ASTRAL = /[\u{10000}-\u{10FFFF}]/u;

function measure(name: string, unit: UsernameLimit['unit']): number {
  return unit === 'bytes' ? Buffer.byteLength(name, 'utf8') : [...name].length;
}

/**
 * The other user of an alternating pair: `app` ⇄ `app_clone`. Throws
 * {@link UsernameLengthError} when the result would exceed the engine's limit (AWS's
 * functions fail the same way rather than let the server truncate the name).
 */
export function alternateUsername(username: string, limit: UsernameLimit): string {
  const alternate = username.endsWith(CLONE_SUFFIX)
    ? username.slice(0, -CLONE_SUFFIX.length)
    : `${username}${CLONE_SUFFIX}`;
  if (limit.bmpOnly && ASTRAL.test(username)) {
    // Refused before any statement: the server could never create or look up the user.
    throw new SecretFormatError(
      'username',
      'has a 4-byte UTF-8 character, which MySQL and MariaDB user names (utf8mb3) cannot hold',
    );
  }
  if (alternate.length === 0) {
    throw new UsernameLengthError('username', limit.max, limit.unit);
  }
  if (measure(alternate, limit.unit) > limit.max) {
    throw new UsernameLengthError('username', limit.max, limit.unit);
  }
  return alternate;
}

/** The base user of a pair (`app` for both `app` and `app_clone`). */
export function baseUsername(username: string): string {
  return username.endsWith(CLONE_SUFFIX) ? username.slice(0, -CLONE_SUFFIX.length) : username;
}
