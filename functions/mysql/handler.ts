import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';

/**
 * Rotates MySQL / Aurora MySQL / MariaDB logins. `ROTATION_MODE` (`single-user` or
 * `alternating-users`) is required and validated at start-up, with `DEFAULT_SSL_MODE`,
 * `CONNECT_TIMEOUT_MS` and `USERNAME_CHARACTER_LIMIT`.
 */
export const handler = rotationHandler(mysqlKind, { serviceName: 'rotator-mysql' });
