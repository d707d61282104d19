import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { apiKeyKind } from '../../shared/strategies/apikey/kind.js';

/**
 * Rotates API-key secrets. Self-issued or provider-issued is decided per secret (its `mode`
 * field, else the presence of a `provider` object, else `API_KEY_MODE`); see
 * `docs/api-keys.md` for the secret format and environment variables. Provider admin
 * credentials are read through the engine's gateway (same endpoint, retries, redaction).
 */
export const handler = rotationHandler(apiKeyKind, { serviceName: 'rotator-apikey' });
