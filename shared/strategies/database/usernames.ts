import { UsernameLengthError } from './errors.js';

/** The suffix alternating-users rotation toggles, as AWS's functions. */
export const CLONE_SUFFIX = '_clone';

/** How an engine counts username length. */
export interface UsernameLimit {
  readonly max: number;
  /** PostgreSQL counts bytes (NAMEDATALEN-1); MySQL/MariaDB count characters. */
  readonly unit: 'bytes' | 'characters';
}

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
