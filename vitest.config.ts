import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Database and endpoint tests start real servers; give them room without hiding hangs.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file per core, not one fewer (vitest's default): the files mostly wait on their own
    // database servers and the twin, so on the 2-core CI machine two at a time took the suite
    // from 386 s to 305 s (measured).
    maxWorkers: availableParallelism(),
    env: {
      // Powertools reads these; keep test output small and deterministic.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // Node 20 is supported here (Lambda runs 22); the SDK's notice about 2027 is noise.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
