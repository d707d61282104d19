import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import { apiKeyKind } from '../../shared/strategies/apikey/kind.js';
import {
  type ApiKeyProviderServer,
  providerKeySecret,
  startApiKeyProviderServer,
} from '../helpers/apiKeyProviderServer.js';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

// Provider-issued keys against the loopback provider: a key "works" when the provider
// authenticates it. One server for the file; every test seeds its own first key.
let server: ApiKeyProviderServer;
let admin: InMemorySecretsManager;

beforeAll(async () => {
  server = await startApiKeyProviderServer();
  admin = new InMemorySecretsManager(`admin/${randomUUID()}`);
  admin.seedCurrent(JSON.stringify({ token: server.adminToken }));
});

afterAll(async () => {
  await server.close();
});

describeStrategyConformance('api-key (provider-issued, HTTP provider)', {
  createStrategy: () => new ApiKeyStrategy({ env: {}, client: admin.client, verifyPollMs: 10 }),
  seed: async () => providerKeySecret(server, admin.arn),
  works: async (value) => server.authenticates((JSON.parse(value) as { apiKey: string }).apiKey),
  corrupt: (value) =>
    JSON.stringify({
      ...(JSON.parse(value) as object),
      apiKey: `pk_test_${randomBytes(24).toString('base64url')}`,
    }),
  extraSecrets: () => [server.adminToken, ...[...server.keys.values()].map((k) => k.key)],
  kind: apiKeyKind,
});
