import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { ConfigurationError } from '../../shared/errors.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import {
  generateApiKey,
  KEY_ALPHABETS,
  keyFormatFromEnv,
  keyFormatProblem,
} from '../../shared/strategies/apikey/keyFormat.js';
import { STEPS } from '../helpers/apiKeyFixture.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const env = { API_KEY_PREFIX: 'sk_live_', API_KEY_LENGTH: '32', API_KEY_ALPHABET: 'base62' };
const envFormat = keyFormatFromEnv(env);

// A self-issued key "works" when it has the deployment's format: the services that check it
// read it from Secrets Manager, so there is no other target.
describeStrategyConformance('api-key (self-issued)', {
  createStrategy: () => new ApiKeyStrategy({ env }),
  env,
  seed: async () => JSON.stringify({ apiKey: generateApiKey(envFormat), owner: 'billing' }),
  works: async (value) =>
    keyFormatProblem((JSON.parse(value) as { apiKey?: unknown }).apiKey, envFormat) === undefined,
  corrupt: (value) =>
    JSON.stringify({ ...(JSON.parse(value) as object), apiKey: randomBytes(16).toString('hex') }),
});

const logs = captureLogs();

function setup(initial: Record<string, unknown>, handlerEnv: NodeJS.ProcessEnv = env) {
  const sm = new InMemorySecretsManager();
  sm.seedCurrent(JSON.stringify(initial));
  const handler = rotationHandler(new ApiKeyStrategy({ env: handlerEnv }), {
    client: sm.client,
    env: handlerEnv,
    cache: null,
  });
  const rotate = async () => {
    const token = sm.startRotation();
    for (const step of STEPS) await handler(rotationEvent(step, sm.arn, token), lambdaContext());
    return JSON.parse(sm.valueOf('AWSCURRENT') as string) as Record<string, unknown>;
  };
  return { sm, handler, rotate };
}

describe('self-issued API keys', () => {
  it('rotates to a new key in the deployment format and keeps unknown fields', async () => {
    const first = generateApiKey(envFormat);
    const { sm, rotate } = setup({ apiKey: first, owner: 'billing', scopes: ['read'] });

    const after = await rotate();

    expect(after.apiKey).not.toBe(first);
    expect(keyFormatProblem(after.apiKey, envFormat)).toBeUndefined();
    expect(after.owner).toBe('billing');
    expect(after.scopes).toEqual(['read']);
    expect(JSON.parse(sm.valueOf('AWSPREVIOUS') as string).apiKey).toBe(first);
    logs.assertNoneContain([first, after.apiKey as string]);
  });

  it('uses the per-secret keyFormat over the environment', async () => {
    const format = { prefix: 'whk_', length: 48, alphabet: 'base58' };
    const { rotate } = setup({ apiKey: randomBytes(20).toString('hex'), keyFormat: format });

    const after = await rotate();

    const resolved = { prefix: 'whk_', length: 48, alphabet: KEY_ALPHABETS.base58 };
    expect(keyFormatProblem(after.apiKey, resolved)).toBeUndefined();
    expect(after.keyFormat).toEqual(format);
  });

  it('testSecret refuses a pending key that does not match the format, naming the field only', async () => {
    const { sm, handler } = setup({ apiKey: generateApiKey(envFormat) });
    const bad = `sk_live_${randomBytes(8).toString('hex')}`;
    const token = sm.startRotation(undefined, JSON.stringify({ apiKey: bad }));

    const error = await handler(rotationEvent('testSecret', sm.arn, token), lambdaContext()).catch(
      (e: unknown) => e,
    );

    expect((error as Error).name).toBe('SecretFormatError');
    expect((error as Error).message).toMatch(/"apiKey"/);
    expect((error as Error).message).not.toContain(bad);
    logs.assertNoneContain([bad]);
  });

  it('renames the key field with API_KEY_FIELD and still keeps its value out of logs', async () => {
    const renamed = { ...env, API_KEY_FIELD: 'clientCode' };
    const first = generateApiKey(envFormat);
    const { rotate } = setup({ clientCode: first }, renamed);

    const after = await rotate();

    expect(keyFormatProblem(after.clientCode, envFormat)).toBeUndefined();
    expect(after.apiKey).toBeUndefined();
    logs.assertNoneContain([first, after.clientCode as string]);
  });

  it('fails createSecret with an error naming the field when the secret asks for a weak format', async () => {
    const { sm, handler } = setup({
      apiKey: randomBytes(20).toString('hex'),
      keyFormat: { length: 10 },
    });
    const token = sm.startRotation();
    await expect(
      handler(rotationEvent('createSecret', sm.arn, token), lambdaContext()),
    ).rejects.toThrow(/keyFormat\.length/);
  });
});

describe('API-key strategy configuration', () => {
  it.each([
    ['API_KEY_MODE', { API_KEY_MODE: 'vendor' }],
    ['API_KEY_FIELD', { API_KEY_FIELD: 'api key' }],
    ['API_KEY_LENGTH', { API_KEY_LENGTH: '-1' }],
  ])('is validated at start-up, naming %s', (field, badEnv) => {
    let error: unknown;
    try {
      new ApiKeyStrategy({ env: badEnv });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe(field);
  });

  it('API_KEY_MODE=provider requires a provider declaration in the secret', async () => {
    const { sm, handler } = setup(
      { apiKey: generateApiKey(envFormat) },
      { ...env, API_KEY_MODE: 'provider' },
    );
    const token = sm.startRotation();
    await expect(
      handler(rotationEvent('createSecret', sm.arn, token), lambdaContext()),
    ).rejects.toThrow(/"provider"/);
  });
});
