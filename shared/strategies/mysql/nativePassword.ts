import { createHash } from 'node:crypto';

/**
 * The `mysql_native_password` hash of `password`: `*` followed by the upper-case hex of
 * SHA1(SHA1(password)), exactly what MySQL's and MariaDB's `PASSWORD()` return. Setting an
 * account to this hash keeps the plaintext out of SQL text, the general log and binlogs.
 */
export function mysqlNativePasswordHash(password: string): string {
  const stage1 = createHash('sha1').update(Buffer.from(password, 'utf8')).digest();
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`;
}
