import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { createSecretsManagerClient } from '../../shared/secrets/client.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';

// One client for the engine and for provider admin-credential reads, so both honour the same
// endpoint settings (the local twin, VPC endpoints).
const client = createSecretsManagerClient(process.env);

/**
 * Rotates API-key secrets. Self-issued or provider-issued is decided per secret (its `mode`
 * field, else the presence of a `provider` object, else `API_KEY_MODE`); see
 * `docs/api-keys.md` for the secret format and environment variables.
 */
export const handler = rotationHandler(new ApiKeyStrategy({ client }), {
  client,
  serviceName: 'rotator-apikey',
});
