import type { RotationStrategy } from '../../shared/engine/types.js';
import type { AdminSecretReader } from '../../shared/kinds/CredentialKind.js';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { redisKind } from '../../shared/strategies/redis/kind.js';
import { randomPassword } from './credentials.js';
import { InMemorySecretsManager } from './inMemorySecretsManager.js';
import type { RedisServer } from './servers/redis.js';
import type { StrategyHarness } from './strategyConformance.js';

/** An admin secret in its own in-memory Secrets Manager, read as the engine's gateway would. */
export interface AdminSecretFixture {
  readonly arn: string;
  readonly reader: AdminSecretReader;
  /** Reads so far, and how many of them forced a fresh fetch. */
  readonly reads: { total: number; forced: number };
  /** Replaces the admin secret's value (as a rotation of the admin would). */
  replace(value: string): void;
}

/**
 * Builds an {@link AdminSecretFixture} holding `value`. Like the gateway's reader it caches
 * the value until `forceFetch` asks for a fresh one.
 */
export function adminSecretFixture(value: string): AdminSecretFixture {
  const sm = new InMemorySecretsManager('admin');
  sm.seedCurrent(value);
  const reads = { total: 0, forced: 0 };
  let cached: string | undefined;
  return {
    arn: sm.arn,
    reads,
    reader: {
      async current(secretId, options) {
        if (secretId !== sm.arn) throw new Error(`unknown admin secret ${secretId}`);
        reads.total += 1;
        if (options?.forceFetch) reads.forced += 1;
        if (cached === undefined || options?.forceFetch) cached = sm.valueOf('AWSCURRENT');
        return cached as string;
      },
    },
    replace(next) {
      sm.seedCurrent(next);
      for (const version of sm.versions.values()) {
        if (version.value !== next) version.stages.clear();
      }
    },
  };
}

/**
 * The Redis strategy the kind builds for `env`, as the engine will build it once
 * `rotationHandler` takes a kind.
 */
export function redisStrategy(
  env: NodeJS.ProcessEnv,
  admin?: AdminSecretFixture,
  connectTimeoutMs = 5_000,
): RotationStrategy {
  redisKind.validateEnvironment(env);
  return redisKind.createStrategy({
    env,
    connectTimeoutMs,
    adminSecrets: admin?.reader ?? {
      current: () => Promise.reject(new Error('no admin secret in this test')),
    },
  });
}

/** What {@link redisHarness} needs from a test file. */
export interface RedisHarnessOptions {
  /** The test file's server (a getter: it is started in `beforeAll`). */
  readonly server: () => RedisServer;
  readonly env: NodeJS.ProcessEnv;
  createStrategy(): RotationStrategy;
  /** Creates a user on the server and returns its first AWSCURRENT value. */
  seed(): Promise<string>;
}

/**
 * The conformance-suite harness of a Redis function against a real server: a value works
 * when its user authenticates, a corrupt value has another password, and the server's admin
 * password must not be logged either.
 */
export function redisHarness(options: RedisHarnessOptions): StrategyHarness {
  return {
    createStrategy: () => options.createStrategy(),
    seed: () => options.seed(),
    works: (secretString) => {
      const { username, password } = JSON.parse(secretString) as {
        username: string;
        password: string;
      };
      return options.server().canLogin(username, password);
    },
    corrupt: (secretString) =>
      JSON.stringify({ ...JSON.parse(secretString), password: randomPassword() }),
    env: options.env,
    extraSecrets: () => [options.server().admin.password],
    kind: redisKind,
    // The SHA-256 a Redis user keeps is as good as the password for an offline guess.
    derivedSecrets: async (secretString) => [
      aclPasswordHash((JSON.parse(secretString) as { password: string }).password),
    ],
  };
}
