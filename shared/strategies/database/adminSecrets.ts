import { SecretFormatError } from '../../errors.js';
import type { AdminSecretReader, KindContext } from '../../kinds/CredentialKind.js';
import { parseTlsSettings } from '../../kinds/tls.js';
import { parseSecretObject } from '../../secrets/secretJson.js';
import type { LoginTarget } from './driver.js';
import { type DatabaseSecret, rejectNul } from './secret.js';

/**
 * Where the admin secret named by `masterarn` is read: the engine's gateway in production
 * ({@link KindContext.adminSecrets}), a fake or a second Secrets Manager in tests.
 */
export type AdminSecretSource = AdminSecretReader;

/**
 * The admin login for `rotated`: `username` and `password` from the admin secret; host,
 * port and TLS from the admin secret when it has them, else from the rotated secret (an
 * RDS-managed master secret holds only username and password); the database is the rotated
 * secret's (AWS's functions do the same). A different host is refused: we do not look up
 * RDS read replicas as AWS's functions do.
 */
export function adminLoginFor(adminSecretString: string, rotated: DatabaseSecret): LoginTarget {
  const fields = parseSecretObject(adminSecretString, 'masterarn');
  const text = (field: string): string | undefined => {
    const value = fields[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.length === 0) {
      throw new SecretFormatError(
        field,
        'must be a non-empty string in the admin (masterarn) secret',
      );
    }
    return value;
  };
  const username = text('username');
  const password = text('password');
  if (username !== undefined) rejectNul(username, 'username', 'admin (masterarn) secret');
  if (password !== undefined) rejectNul(password, 'password', 'admin (masterarn) secret');
  if (username === undefined)
    throw new SecretFormatError('username', 'is missing from the admin (masterarn) secret');
  if (password === undefined)
    throw new SecretFormatError('password', 'is missing from the admin (masterarn) secret');
  const host = text('host');
  if (host !== undefined && host !== rotated.host) {
    throw new SecretFormatError(
      'host',
      "of the admin (masterarn) secret differs from the rotated secret's host",
    );
  }
  const rawPort = fields.port;
  let port = rotated.port;
  if (rawPort !== undefined && rawPort !== null && rawPort !== '') {
    port = typeof rawPort === 'number' ? rawPort : Number(rawPort);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new SecretFormatError(
        'port',
        'must be a whole number from 1 to 65535 in the admin (masterarn) secret',
      );
    }
  }
  const ownTls =
    fields.ssl !== undefined || fields.sslMode !== undefined || fields.sslCa !== undefined;
  return {
    host: rotated.host,
    port,
    username,
    password,
    dbname: rotated.dbname,
    tls: ownTls ? parseTlsSettings(fields, rotated.tls.mode) : rotated.tls,
  };
}
