import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { exampleKind } from '../../shared/strategies/example/kind.js';

/** Rotates `{"password": ...}` JSON secrets that nothing but their readers check. */
export const handler = rotationHandler(exampleKind, { serviceName: 'rotator-example' });
