import type { RotationStrategy } from '../../engine/types.js';
import { ConfigurationError } from '../../errors.js';
import type { AdminSecretReader, KindContext } from '../../kinds/CredentialKind.js';
import { connectTimeoutFromEnv } from '../../kinds/environment.js';
import { rotationModeFromEnv } from '../../kinds/rotationMode.js';
import { defaultSslModeFromEnv } from '../../kinds/tls.js';
import { AlternatingUsersStrategy } from './AlternatingUsersStrategy.js';
import type { DialectSet } from './dialect.js';
import { SingleUserStrategy } from './SingleUserStrategy.js';

/**
 * Validates a database function's own variables (`ROTATION_MODE`, `DEFAULT_SSL_MODE`);
 * the engine validates the generic ones (`CONNECT_TIMEOUT_MS`, the password policy).
 */
export function validateDatabaseEnvironment(env: NodeJS.ProcessEnv): void {
  rotationModeFromEnv(env);
  defaultSslModeFromEnv(env);
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
  return new AlternatingUsersStrategy(dialects, { ...options, admins: context.adminSecrets });
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
