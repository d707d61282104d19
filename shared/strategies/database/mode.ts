import type { RotationStrategy } from '../../engine/types.js';
import { ConfigurationError } from '../../errors.js';
import { connectTimeoutFromEnv } from '../../kinds/environment.js';
import { AlternatingUsersStrategy } from './AlternatingUsersStrategy.js';
import { type AdminSecretSource, createAdminSecretSource } from './adminSecrets.js';
import type { DialectSet } from './dialect.js';
import { SingleUserStrategy } from './SingleUserStrategy.js';
import { defaultSslModeFromEnv } from './tls.js';

/** The two rotation modes of AWS's database functions. */
export type RotationMode = 'single-user' | 'alternating-users';

const MODES: readonly RotationMode[] = ['single-user', 'alternating-users'];

/** Reads `ROTATION_MODE` (required: a deployment must say which mode it is). */
export function rotationModeFromEnv(env: NodeJS.ProcessEnv = process.env): RotationMode {
  const raw = env.ROTATION_MODE?.trim().toLowerCase();
  if (raw === undefined || raw === '') {
    throw new ConfigurationError('ROTATION_MODE', `is required: one of ${MODES.join(', ')}`);
  }
  if (!(MODES as readonly string[]).includes(raw)) {
    throw new ConfigurationError('ROTATION_MODE', `must be one of ${MODES.join(', ')}`);
  }
  return raw as RotationMode;
}

/** Injectable dependencies of {@link databaseStrategyFromEnv}. */
export interface DatabaseStrategyDeps {
  /** Admin secret source; by default Powertools' SecretsProvider on the environment's endpoint. */
  admins?: AdminSecretSource;
}

/**
 * Builds the strategy a database function's environment asks for, validating
 * `ROTATION_MODE`, `DEFAULT_SSL_MODE` and `CONNECT_TIMEOUT_MS` (or the older
 * `DB_CONNECT_TIMEOUT_MS`) at start-up.
 *
 * @example
 * ```ts
 * export const handler = rotationHandler(databaseStrategyFromEnv(postgresDialects()), { serviceName: 'rotator-postgres' });
 * ```
 */
export function databaseStrategyFromEnv(
  dialects: DialectSet,
  env: NodeJS.ProcessEnv = process.env,
  deps: DatabaseStrategyDeps = {},
): RotationStrategy {
  const mode = rotationModeFromEnv(env);
  const options = {
    connectTimeoutMs: connectTimeoutFromEnv(env),
    defaultSslMode: defaultSslModeFromEnv(env),
  };
  if (mode === 'single-user') return new SingleUserStrategy(dialects, options);
  return new AlternatingUsersStrategy(dialects, {
    ...options,
    admins: deps.admins ?? createAdminSecretSource(env),
  });
}
