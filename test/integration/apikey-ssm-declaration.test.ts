import { randomBytes, randomUUID } from 'node:crypto';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { SecretFormatError } from '../../shared/errors.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import {
  declarationPathFromEnv,
  ProviderDeclarationSource,
} from '../../shared/strategies/apikey/declarations.js';
import { reconcileApiKeys } from '../../shared/strategies/apikey/reconcile.js';
import { STEPS } from '../helpers/apiKeyFixture.js';
import {
  type ApiKeyProviderServer,
  startApiKeyProviderServer,
} from '../helpers/apiKeyProviderServer.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();
const servers: ApiKeyProviderServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An SSM client whose only parameter is `name`, holding `value`. */
function ssmWith(name: string, value: string) {
  const ssm = new SSMClient({ region: 'us-east-1' });
  const mock = mockClient(ssm);
  mock
    .on(GetParameterCommand)
    .rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  mock
    .on(GetParameterCommand, { Name: name })
    .resolves({ Parameter: { Name: name, Value: value, Type: 'String' } });
  return { ssm, mock };
}

describe('provider declarations kept in an SSM parameter', () => {
  it('a secret naming a parameter rotates with the declaration it holds (read once, cached)', async () => {
    const server = await startApiKeyProviderServer();
    servers.push(server);
    const admin = new InMemorySecretsManager(`admin/${randomUUID()}`);
    admin.seedCurrent(JSON.stringify({ token: server.adminToken }));
    const parameter = `/rotator/providers/${randomBytes(4).toString('hex')}`;
    const { ssm, mock } = ssmWith(parameter, JSON.stringify(server.declaration(admin.arn)));
    const sm = new InMemorySecretsManager();
    const first = server.seedKey('initial');
    sm.seedCurrent(
      JSON.stringify({ apiKey: first.key, keyId: first.id, provider: { ssmParameter: parameter } }),
    );
    const handler = rotationHandler(
      new ApiKeyStrategy({ env: {}, client: admin.client, ssmClient: ssm }),
      {
        client: sm.client,
        env: {},
        cache: null,
      },
    );

    for (let i = 0; i < 2; i++) {
      const token = sm.startRotation();
      for (const step of STEPS) await handler(rotationEvent(step, sm.arn, token), lambdaContext());
    }

    const current = JSON.parse(sm.valueOf('AWSCURRENT') as string);
    expect(current.provider).toEqual({ ssmParameter: parameter });
    expect(server.authenticates(current.apiKey)).toBe(true);
    expect(server.keys.get(first.id)?.revoked).toBe(true);
    expect(mock.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(mock.commandCalls(GetParameterCommand)[0]?.args[0].input.WithDecryption).toBe(true);

    const report = await reconcileApiKeys({
      secretId: sm.arn,
      client: sm.client,
      adminClient: admin.client,
      ssmClient: ssm,
    });
    expect(report.healthy).toBe(true);
    logs.assertNoneContain([...[...server.keys.values()].map((k) => k.key), server.adminToken]);
  });

  it('refuses a reference that also carries fields (they could redirect the admin credential)', async () => {
    const { ssm } = ssmWith('/p', '{}');
    const source = new ProviderDeclarationSource({ ssmClient: ssm });
    const error = await source
      .resolve({ ssmParameter: '/p', baseUrl: 'https://elsewhere.example' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe('provider');
  });

  it.each([
    ['a missing parameter', '/missing', '{}'],
    ['a parameter that is not JSON', '/p', 'not json'],
    ['a parameter that is not an object', '/p', '[1,2]'],
  ])('names provider.ssmParameter for %s', async (_case, name, value) => {
    const { ssm } = ssmWith('/p', value);
    const error = await new ProviderDeclarationSource({ ssmClient: ssm })
      .resolve({ ssmParameter: name })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe('provider.ssmParameter');
  });

  it('refuses a parameter outside API_KEY_DECLARATION_PATH by name, without calling SSM', async () => {
    const { ssm, mock } = ssmWith('/other/p', '{}');
    const source = new ProviderDeclarationSource({
      ssmClient: ssm,
      allowedPath: declarationPathFromEnv({ API_KEY_DECLARATION_PATH: '/rotator/providers/' }),
    });
    const error = await source.resolve({ ssmParameter: '/other/p' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe('provider.ssmParameter');
    expect((error as Error).message).toContain('/rotator/providers/');
    expect(mock.calls()).toHaveLength(0);
  });

  it.each(['rotator/providers/', '/rotator/providers', '/', '/a b/'])(
    'refuses API_KEY_DECLARATION_PATH %j at start-up, naming it',
    (path) => {
      expect(() => declarationPathFromEnv({ API_KEY_DECLARATION_PATH: path })).toThrow(
        /API_KEY_DECLARATION_PATH/,
      );
    },
  );

  it('passes inline declarations through untouched, without calling SSM', async () => {
    const { ssm, mock } = ssmWith('/p', '{}');
    const inline = { type: 'http', baseUrl: 'https://x.example' };
    expect(await new ProviderDeclarationSource({ ssmClient: ssm }).resolve(inline)).toBe(inline);
    expect(mock.calls()).toHaveLength(0);
  });
});
