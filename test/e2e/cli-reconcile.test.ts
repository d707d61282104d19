import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import {
  type ApiKeyProviderServer,
  startApiKeyProviderServer,
} from '../helpers/apiKeyProviderServer.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from './cli-harness.js';

// `npx rotator reconcile` as a subprocess against the local twin, for a provider-issued
// API-key secret whose provider (on loopback) lists its keys.

const startTwin = useLocalSecretsManager();
const servers: ApiKeyProviderServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function rotatedApiKeySecret() {
  const server = await startApiKeyProviderServer();
  servers.push(server);
  const twin = await startTwin({
    registry: (endpoint) => {
      const handler = rotationHandler(new ApiKeyStrategy({ env: {}, client: endpoint.client }), {
        client: endpoint.client,
        env: {},
      });
      return new Map([['rotator-apikey', (event, context) => handler(event, context)]]);
    },
  });
  const client = twin.newClient();
  const suffix = randomBytes(4).toString('hex');
  const admin = await client.send(
    new CreateSecretCommand({
      Name: `vendor-admin/${suffix}`,
      SecretString: JSON.stringify({ token: server.adminToken }),
    }),
  );
  const first = server.seedKey('initial');
  const name = `apikey/${suffix}`;
  await client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        apiKey: first.key,
        keyId: first.id,
        provider: server.declaration(admin.ARN as string),
      }),
    }),
  );
  for (let i = 0; i < 2; i++) {
    await client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: `arn:aws:lambda:${twin.region}:${twin.accountId}:function:rotator-apikey`,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');
  }
  const secrets = () => [...[...server.keys.values()].map((k) => k.key), server.adminToken];
  return { server, twin, name, secrets };
}

describe('rotator reconcile', () => {
  it(
    'reports a healthy secret with exit 0, then a key stranded at the provider with exit 1, never printing a key',
    async () => {
      const { server, twin, name, secrets } = await rotatedApiKeySecret();

      const healthy = await runCli(twin, ['reconcile', name, '--json']);
      expect(healthy.code, healthy.stderr).toBe(0);
      const report = JSON.parse(healthy.stdout) as { healthy: boolean; keys: { status: string }[] };
      expect(report.healthy).toBe(true);
      expect(report.keys.map((k) => k.status).sort()).toEqual(['current', 'previous']);

      // A key a failed clean-up left behind: rotator's label, referenced by no version.
      const stranded = server.seedKey(`rotator-${randomBytes(8).toString('hex')}`);
      const json = await runCli(twin, ['reconcile', name, '--json']);
      expect(json.code).toBe(1);
      expect((JSON.parse(json.stdout) as { stranded: string[] }).stranded).toEqual([stranded.id]);

      const text = await runCli(twin, ['reconcile', name]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`stranded: key ${stranded.id}`);
      for (const run of [healthy, json, text]) {
        for (const secret of secrets()) {
          expect(run.stdout.includes(secret) || run.stderr.includes(secret)).toBe(false);
        }
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
