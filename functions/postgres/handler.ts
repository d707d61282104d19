import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';

/**
 * Rotates PostgreSQL / Aurora PostgreSQL logins. `ROTATION_MODE` (`single-user` or
 * `alternating-users`) is required and validated at start-up, with `DEFAULT_SSL_MODE` and
 * `CONNECT_TIMEOUT_MS`.
 */
export const handler = rotationHandler(postgresKind, { serviceName: 'rotator-postgres' });
