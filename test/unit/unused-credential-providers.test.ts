import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const stub = require(
  resolve(import.meta.dirname, '../../scripts/stubs/unused-credential-providers.cjs'),
) as Record<string, () => () => Promise<unknown>>;

describe('stubbed credential providers in the function bundles', () => {
  it.each(['fromSSO', 'fromIni', 'fromProcess', 'fromTokenFile'])(
    '%s answers as a provider with nothing to offer, so the SDK default chain moves on',
    async (name) => {
      const provider = stub[name]?.();
      const error = (await provider?.().catch((caught: unknown) => caught)) as {
        name?: string;
        tryNextLink?: boolean;
      };
      expect(error?.name).toBe('CredentialsProviderError');
      expect(error?.tryNextLink).toBe(true);
    },
  );
});
