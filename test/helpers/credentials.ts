import { randomBytes, randomInt } from 'node:crypto';

/** A random lower-case identifier-safe suffix. */
export function randomSuffix(length = 8): string {
  return randomBytes(length).toString('hex').slice(0, length);
}

/** A random ordinary password (letters and digits). */
export function randomPassword(length = 24): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/**
 * A random password full of what breaks naive SQL building: quotes, backslashes, `%`,
 * `?`, `$1`, a SQL keyword and NFKC-stable non-ASCII letters, around random characters.
 */
export function hostilePassword(): string {
  return `'"\\%?$1;-- DROP ROLE x; ü密${randomPassword(12)}\`'`;
}

/** A random username with quotes, backslash, `%`, `;`, a SQL keyword and non-ASCII letters. */
export function hostileUsername(): string {
  return `o'b"r\\%ü;SELECT ${randomSuffix(6)}`;
}
