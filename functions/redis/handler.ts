import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { redisKind } from '../../shared/strategies/redis/kind.js';

/**
 * Rotates Redis / Valkey 7+ ACL users. `ROTATION_MODE` (`single-user` or
 * `alternating-users`) is required and validated at start-up, with `DEFAULT_SSL_MODE` and
 * `CONNECT_TIMEOUT_MS`. See docs/redis.md.
 */
export const handler = rotationHandler(redisKind, { serviceName: 'rotator-redis' });
