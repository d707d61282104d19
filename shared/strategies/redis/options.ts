import type { AdminSecretReader } from '../../kinds/CredentialKind.js';
import type { SslMode } from '../../kinds/tls.js';
import type { PasswordPolicy } from '../../secrets/passwords.js';
import type { RedisConnectOptions, RedisConnector } from './connection.js';
import type { RedisProbeOptions } from './login.js';

/** What both Redis strategies are built with. */
export interface RedisStrategyOptions {
  /** Connect timeout, milliseconds (the engine's validated `CONNECT_TIMEOUT_MS`). */
  readonly connectTimeoutMs: number;
  /** TLS mode for secrets with neither `ssl` nor `sslMode` (`DEFAULT_SSL_MODE`). */
  readonly defaultSslMode: SslMode;
  /** Reads the `masterarn` admin secret through the engine's gateway. */
  readonly adminSecrets: AdminSecretReader;
  /** Opens connections; {@link connectRedis} unless a test passes a fake. */
  readonly connect: RedisConnector;
}

/**
 * Password defaults of this kind: those of AWS's ElastiCache user rotation function
 * (`/@"'\` excluded), which also keep a password usable inside a `redis://` URL's
 * user-info once percent-encoded. `PASSWORD_LENGTH` and `EXCLUDE_CHARACTERS` override them.
 */
export const REDIS_PASSWORD_DEFAULTS: Partial<PasswordPolicy> = Object.freeze({
  excludeCharacters: '/@"\'\\',
});

/** Connect options for one step. */
export function connectOptionsFor(
  options: RedisStrategyOptions,
  signal: AbortSignal,
): RedisConnectOptions {
  return { signal, connectTimeoutMs: options.connectTimeoutMs };
}

/** Probe options (the login check shared with the CLI) for one step and version. */
export function probeOptionsFor(
  options: RedisStrategyOptions,
  signal: AbortSignal,
  which: string,
): RedisProbeOptions {
  return {
    ...connectOptionsFor(options, signal),
    connect: options.connect,
    defaultSslMode: options.defaultSslMode,
    which,
  };
}
