import type { RotationStrategy } from '../../engine/types.js';
import { ConfigurationError } from '../../errors.js';
import type { AdminSecretReader, KindContext } from '../../kinds/CredentialKind.js';
import { connectTimeoutFromEnv } from '../../kinds/environment.js';
import { rotationModeFromEnv } from '../../kinds/rotationMode.js';
import { defaultSslModeFromEnv } from '../../kinds/tls.js';
import { AlternatingUsersStrategy } from './AlternatingUsersStrategy.js';
import type { DialectSet } from './dialect.js';
import { DEFAULT_KEEP_MS } from './keptSessions.js';
import { SingleUserStrategy } from './SingleUserStrategy.js';

/**
 * Validates a database function's own variables (`ROTATION_MODE`, `DEFAULT_SSL_MODE`,
 * `ADMIN_SESSION_KEEP_SECONDS`);
 * the engine validates the generic ones (`CONNECT_TIMEOUT_MS`, the password policy).
 */
export function validateDatabaseEnvironment(env: NodeJS.ProcessEnv): void {
  rotationModeFromEnv(env);
  defaultSslModeFromEnv(env);
  adminSessionKeepMsFromEnv(env);
}

/**
 * Reads `ADMIN_SESSION_KEEP_SECONDS` (alternating users): how long a warm function keeps
 * the admin's database session for the next setSecret; 0 turns it off. 0–900, default 60.
 * Returned in milliseconds.
 */
export function adminSessionKeepMsFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.ADMIN_SESSION_KEEP_SECONDS?.trim();
  if (raw === undefined || raw === '') return DEFAULT_KEEP_MS;
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds > 900) {
    throw new ConfigurationError(
      'ADMIN_SESSION_KEEP_SECONDS',
      'must be a whole number of seconds from 0 to 900',
    );
  }
  return seconds * 1000;
}

/**
 * Builds the strategy a database function's environment asks for (`ROTATION_MODE`), from
 * the context the engine validated; the admin secret is read through `context.adminSecrets`.
 */
export function databaseStrategy(dialects: DialectSet, context: KindContext): RotationStrategy {
  const mode = rotationModeFromEnv(context.env);
  const options = {
    connectTimeoutMs: context.connectTimeoutMs,
    defaultSslMode: defaultSslModeFromEnv(context.env),
  };
  if (mode === 'single-user') return new SingleUserStrategy(dialects, options);
  return new AlternatingUsersStrategy(dialects, {
    ...options,
    admins: context.adminSecrets,
    adminSessionKeepMs: adminSessionKeepMsFromEnv(context.env),
  });
}

/** Injectable dependencies of {@link databaseStrategyFromEnv}. */
export interface DatabaseStrategyDeps {
  /** Admin secret reader (alternating users). */
  admins?: AdminSecretReader;
}

const NO_ADMIN_READER: AdminSecretReader = {
  current: () =>
    Promise.reject(
      new ConfigurationError(
        'admins',
        'is not set: build the strategy with rotationHandler(kind) (the engine passes its gateway) or pass an AdminSecretReader',
      ),
    ),
};

/**
 * {@link databaseStrategy} for callers outside the engine (tests, benchmarks): validates
 * the environment as the engine would and builds the context from it.
 *
 * @example
 * ```ts
 * const strategy = databaseStrategyFromEnv(postgresDialects(), { ROTATION_MODE: 'single-user' });
 * ```
 */
export function databaseStrategyFromEnv(
  dialects: DialectSet,
  env: NodeJS.ProcessEnv = process.env,
  deps: DatabaseStrategyDeps = {},
): RotationStrategy {
  validateDatabaseEnvironment(env);
  return databaseStrategy(dialects, {
    env,
    connectTimeoutMs: connectTimeoutFromEnv(env),
    adminSecrets: deps.admins ?? NO_ADMIN_READER,
  });
}
