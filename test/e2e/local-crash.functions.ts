import { writeFileSync } from 'node:fs';
import type { LocalEndpoint, RotationRegistry } from '../../local/secrets-manager/index.js';
import { referenceRotationFunction } from '../../local/secrets-manager/referenceFunction.js';
import type { RotationEvent } from '../../shared/engine/types.js';

/**
 * Rotation functions for the crash test's child twin: `crash-test` follows AWS's template;
 * with `LOCAL_TWIN_HANG_AT=<step>` it never returns from that step (after writing the step to
 * `LOCAL_TWIN_HANG_MARKER`), so the test can kill the process mid-rotation.
 */
export function createRotationFunctions(endpoint: LocalEndpoint): RotationRegistry {
  const reference = referenceRotationFunction(endpoint.client);
  const hangAt = process.env.LOCAL_TWIN_HANG_AT;
  const marker = process.env.LOCAL_TWIN_HANG_MARKER;
  return new Map([
    [
      'crash-test',
      async (event: RotationEvent, context) => {
        if (event.Step === hangAt) {
          // Tells the test the step is running; the twin persisted the step before invoking.
          if (marker) writeFileSync(marker, event.Step);
          await new Promise(() => undefined);
        }
        return reference(event, context);
      },
    ],
  ]);
}
