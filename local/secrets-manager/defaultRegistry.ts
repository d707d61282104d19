import type { LocalEndpoint } from './index.js';
import type { RotationRegistry } from './rotation.js';

/** The function name the example secret rotates with. */
export const EXAMPLE_FUNCTION_NAME = 'rotator-example';

/**
 * The registry of `npm start`: `rotator-example` is the project's real handler,
 * `rotationHandler(new ExampleStrategy(), { client })`, with `client` pointed at the twin.
 * Loaded lazily so a twin started with its own functions never loads the engine.
 */
export async function createDefaultRegistry(endpoint: LocalEndpoint): Promise<RotationRegistry> {
  const [{ rotationHandler }, { ExampleStrategy }] = await Promise.all([
    import('../../shared/engine/rotationHandler.js'),
    import('../../shared/strategies/example/ExampleStrategy.js'),
  ]);
  const handler = rotationHandler(new ExampleStrategy(), { client: endpoint.client });
  return new Map([[EXAMPLE_FUNCTION_NAME, (event, context) => handler(event, context)]]);
}
