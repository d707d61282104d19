import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';

/**
 * Rotates PostgreSQL / Aurora PostgreSQL logins. `ROTATION_MODE` (`single-user` or
 * `alternating-users`) is required and validated at start-up, with `DEFAULT_SSL_MODE` and
 * `CONNECT_TIMEOUT_MS`.
 */
export const handler = rotationHandler(databaseStrategyFromEnv(postgresDialects()), {
  serviceName: 'rotator-postgres',
});
