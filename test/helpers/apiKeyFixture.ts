import { randomUUID } from 'node:crypto';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { RotationStep } from '../../shared/engine/types.js';
import {
  ApiKeyStrategy,
  type ApiKeyStrategyOptions,
} from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import {
  type ApiKeyProviderServer,
  type ApiKeyProviderServerOptions,
  startApiKeyProviderServer,
} from './apiKeyProviderServer.js';
import { InMemorySecretsManager, lambdaContext, rotationEvent } from './inMemorySecretsManager.js';

/** The four steps in order. */
export const STEPS: readonly RotationStep[] = [
  'createSecret',
  'setSecret',
  'testSecret',
  'finishSecret',
];

/** Options for {@link providerRotationFixture}. */
export interface ProviderFixtureOptions {
  server?: ApiKeyProviderServerOptions;
  /** Merged over the server's default declaration (e.g. `capabilities`, `timeoutMs`). */
  declaration?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  strategy?: Omit<ApiKeyStrategyOptions, 'env' | 'client'>;
}

/** A provider on loopback, its admin secret, the API-key secret and the real handler. */
export interface ProviderRotationFixture {
  server: ApiKeyProviderServer;
  /** Holds the provider's admin credential (`{"token": ...}`). */
  admin: InMemorySecretsManager;
  /** Holds the API-key secret being rotated. */
  sm: InMemorySecretsManager;
  /** Runs one step through the real handler. */
  run(step: RotationStep, token: string): Promise<void>;
  /** Starts a rotation (AWSPENDING placeholder) and runs all four steps; returns the token. */
  rotate(): Promise<string>;
  /** The parsed value of the version holding `stage`. */
  secret(stage: string): Record<string, unknown> | undefined;
  /** Every secret value of the fixture: all keys ever minted and the admin token. */
  secretValues(): string[];
  close(): Promise<void>;
}

/**
 * Builds a provider-issued API-key rotation: a provider test server, a first key minted on
 * it and stored as AWSCURRENT (with an unknown field that must survive), and the real
 * `rotationHandler` over an in-memory Secrets Manager.
 */
export async function providerRotationFixture(
  options: ProviderFixtureOptions = {},
): Promise<ProviderRotationFixture> {
  const server = await startApiKeyProviderServer(options.server);
  const admin = new InMemorySecretsManager(`admin/${randomUUID()}`);
  admin.seedCurrent(JSON.stringify({ token: server.adminToken }));
  const sm = new InMemorySecretsManager();
  const first = server.seedKey('initial');
  const declaration = { ...server.declaration(admin.arn), ...(options.declaration ?? {}) };
  sm.seedCurrent(
    JSON.stringify({
      apiKey: first.key,
      keyId: first.id,
      service: 'billing',
      provider: declaration,
    }),
  );
  const env = options.env ?? {};
  const strategy = new ApiKeyStrategy({
    env,
    client: admin.client,
    verifyPollMs: 20,
    ...(options.strategy ?? {}),
  });
  const handler = rotationHandler(strategy, {
    client: sm.client,
    env,
    cache: null,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  const run = async (step: RotationStep, token: string) => {
    await handler(rotationEvent(step, sm.arn, token), lambdaContext());
  };
  const secret = (stage: string) => {
    const value = sm.valueOf(stage);
    return value === undefined ? undefined : (JSON.parse(value) as Record<string, unknown>);
  };
  return {
    server,
    admin,
    sm,
    run,
    async rotate() {
      const token = sm.startRotation();
      for (const step of STEPS) await run(step, token);
      return token;
    },
    secret,
    secretValues: () => [...[...server.keys.values()].map((k) => k.key), server.adminToken],
    close: () => server.close(),
  };
}
