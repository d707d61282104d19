import type { LocalEndpoint } from './index.js';
import type { RotationRegistry } from './rotation.js';

/** The function name the example secret rotates with. */
export const EXAMPLE_FUNCTION_NAME = 'rotator-example';

/**
 * The registry of `npm start`: `rotator-example` is the project's real handler,
 * `rotationHandler(exampleKind, { client })`, with `client` pointed at the twin.
 * Loaded lazily so a twin started with its own functions never loads the engine.
 */
export async function createDefaultRegistry(endpoint: LocalEndpoint): Promise<RotationRegistry> {
  const [{ rotationHandler }, { exampleKind }] = await Promise.all([
    import('../../shared/engine/rotationHandler.js'),
    import('../../shared/strategies/example/kind.js'),
  ]);
  const handler = rotationHandler(exampleKind, {
    client: endpoint.client,
    serviceName: EXAMPLE_FUNCTION_NAME,
  });
  return new Map([[EXAMPLE_FUNCTION_NAME, (event, context) => handler(event, context)]]);
}
