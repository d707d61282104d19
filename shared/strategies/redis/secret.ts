import { SecretFormatError } from '../../errors.js';
import type { SslMode, TlsSettings } from '../../kinds/tls.js';
import { adminLoginFor } from '../database/adminSecrets.js';
import { type DatabaseSecret, parseDatabaseSecret } from '../database/secret.js';

/** `engine` values a Redis secret may carry (absent means `redis`). */
export const REDIS_ENGINES: readonly string[] = ['redis', 'valkey'];

/** Port when the secret has none. */
export const REDIS_DEFAULT_PORT = 6379;

/**
 * A Redis (or Valkey) ACL user as stored in Secrets Manager. `fields` keeps the whole
 * parsed object so unknown keys (ElastiCache's `user_arn`, an application's own) survive a
 * rotation.
 */
export interface RedisSecret {
  /** `redis` or `valkey`. */
  readonly engine: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** ARN of the admin secret (required in alternating-users mode). */
  readonly masterarn: string | undefined;
  readonly tls: TlsSettings;
  /** Every field of the JSON object, untouched. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Everything needed to open one authenticated connection. */
export interface RedisLogin {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly tls: TlsSettings;
}

/** How a function reads its secrets. */
export interface RedisSecretOptions {
  /** TLS mode for secrets with neither `ssl` nor `sslMode`; default `verify-full`. */
  readonly defaultSslMode?: SslMode;
  /** `masterarn` must be present (alternating-users mode). */
  readonly requireMasterArn?: boolean;
}

/**
 * Parses and validates a Redis `SecretString` with the database functions' field rules
 * (`host`, `port`, `username`, `password`, `masterarn`, `ssl`/`sslMode`/`sslCa`), plus
 * Redis's own: `engine` is `redis` or `valkey` when present, the port defaults to 6379, and
 * a user name holds no white space (ACL user names cannot). Throws
 * {@link SecretFormatError} naming the field, never its value; `which` names the version
 * (`AWSCURRENT`, ...).
 *
 * @example
 * ```ts
 * const secret = parseRedisSecret(await request.pending(), { defaultSslMode: 'verify-full' }, 'AWSPENDING');
 * ```
 */
export function parseRedisSecret(
  secretString: string,
  options: RedisSecretOptions = {},
  which = 'secret',
): RedisSecret {
  const parsed = parseDatabaseSecret(
    secretString,
    {
      engines: REDIS_ENGINES,
      defaultEngine: 'redis',
      defaultPort: REDIS_DEFAULT_PORT,
      requireMasterArn: options.requireMasterArn ?? false,
      ...(options.defaultSslMode ? { defaultSslMode: options.defaultSslMode } : {}),
    },
    which,
  );
  if (/\s/u.test(parsed.username)) {
    throw new SecretFormatError(
      'username',
      `must not contain white space in the ${which} value (Redis ACL user names cannot)`,
    );
  }
  const { dbname: _unused, ...secret } = parsed;
  return secret;
}

/** The login a secret describes. */
export function loginOf(secret: RedisSecret): RedisLogin {
  const { host, port, username, password, tls } = secret;
  return { host, port, username, password, tls };
}

/**
 * The `SecretString` of `secret` with a new login: every other field, known or not, is
 * kept as it was.
 */
export function withLogin(
  secret: RedisSecret,
  login: { username: string; password: string },
): string {
  return JSON.stringify({ ...secret.fields, username: login.username, password: login.password });
}

/**
 * The admin login named by `masterarn`, with the database functions' rules: `username` and
 * `password` from the admin secret; host, port and TLS from it when it has them, else from
 * the rotated secret; a different host is refused.
 */
export function adminLoginOf(adminSecretString: string, rotated: RedisSecret): RedisLogin {
  const asDatabase: DatabaseSecret = { ...rotated, dbname: undefined };
  const { host, port, username, password, tls } = adminLoginFor(adminSecretString, asDatabase);
  return { host, port, username, password, tls };
}
