import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import { type ApiKeyProviderServer, startApiKeyProviderServer } from './apiKeyProviderServer.js';
import { useLocalSecretsManager } from './localSecretsManager.js';

/**
 * For the calling test file: a loopback API-key provider plus a local Secrets Manager twin
 * whose `rotator-apikey` function is the real API-key handler, and a provider-issued secret
 * (`apikey/<random>`) whose admin credential is another secret in the twin. Closed after each
 * test.
 */
export function useApiKeyTwin() {
  const startTwin = useLocalSecretsManager();
  const servers: ApiKeyProviderServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async () => {
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
          owner: 'billing',
          provider: server.declaration(admin.ARN as string),
        }),
      }),
    );
    const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:rotator-apikey`;
    /** RotateSecret now, and the rotation's record once it has ended. */
    const rotate = async () => {
      await client.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: functionArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      return twin.rotations.waitFor(name);
    };
    /** The key JSON of the version holding `stage`. */
    const keyOf = async (stage: string) => {
      const out = await client.send(
        new GetSecretValueCommand({ SecretId: name, VersionStage: stage }),
      );
      return JSON.parse(out.SecretString as string) as { apiKey: string; keyId: string };
    };
    /** Every key value the provider ever issued, and its admin token: none may be printed. */
    const secrets = () => [...[...server.keys.values()].map((k) => k.key), server.adminToken];
    return { server, twin, client, name, rotate, keyOf, first, secrets };
  };
}
