import { lazySyncClients } from './clients.js';
import { TargetWriter } from './TargetWriter.js';

/**
 * The one module that brings the SSM, S3 and KMS SDK clients in: the engine loads it with a
 * dynamic `import()` only for a secret that declares targets, and the build bundles it as a
 * separate file (`sync.js` beside `index.js`, scripts/build.mjs), so a function's cold start
 * and its main bundle do not grow with sync.
 */
export function createTargetWriter(env: NodeJS.ProcessEnv): TargetWriter {
  return new TargetWriter(lazySyncClients(env));
}
