import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';

/** Rotates `{"password": ...}` JSON secrets that nothing but their readers check. */
export const handler = rotationHandler(new ExampleStrategy(), { serviceName: 'rotator-example' });
