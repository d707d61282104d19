import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type {
  GenerateRequest,
  PendingRequest,
  RotationStrategy,
} from '../../shared/engine/types.js';
import { createRotationLogger } from '../../shared/logging/logger.js';
import { REDACTED, SecretRegistry, scrubError } from '../../shared/logging/redaction.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();

/** A password with every character that escaping could change. */
const hostilePassword = () => `p'a"s\\s%2F:${randomBytes(12).toString('base64url')}/é`;

/** Fails the way drivers fail: the secret inside message, stack, `sql` and nested fields. */
function driverError(secret: string): Error {
  const error = new Error(`password authentication failed for "${secret}"`);
  Object.assign(error, {
    code: '28P01',
    sql: `SET PASSWORD = '${secret.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`,
    connectionString: `postgres://app:${encodeURIComponent(secret)}@db:5432/app`,
    detail: { json: JSON.stringify({ password: secret }) },
  });
  error.stack = `Error: ${secret}\n    at connect (driver.js:1:1)`;
  return error;
}

class FailingStrategy implements RotationStrategy {
  readonly name = 'failing';
  constructor(readonly failAt: 'generatePending' | 'apply' | 'verify' | 'afterPromotion') {}
  async generatePending(request: GenerateRequest): Promise<string> {
    const current = JSON.parse(await request.current()) as { password: string };
    const password = await request.generatePassword();
    request.logger.info('generated', { password, note: `old was ${current.password}` });
    if (this.failAt === 'generatePending') throw driverError(password);
    return JSON.stringify({ ...current, password });
  }
  async apply(request: PendingRequest): Promise<void> {
    const pending = JSON.parse(await request.pending()) as { password: string };
    request.logger.info(`applying ${pending.password}`);
    if (this.failAt === 'apply') throw driverError(pending.password);
  }
  async verify(request: PendingRequest): Promise<void> {
    const pending = JSON.parse(await request.pending()) as { password: string };
    request.logger.warn('verify', { url: `https://x/?p=${encodeURIComponent(pending.password)}` });
    if (this.failAt === 'verify') throw driverError(pending.password);
  }
  async afterPromotion(request: PendingRequest): Promise<void> {
    const previous = JSON.parse((await request.previous()) ?? '{}') as { password: string };
    request.logger.error('previous', { error: driverError(previous.password) });
    if (this.failAt === 'afterPromotion') throw driverError(previous.password);
  }
}

describe('redaction through the engine', () => {
  it.each(['generatePending', 'apply', 'verify', 'afterPromotion'] as const)(
    'a failure in %s leaks no secret value into any log line or the thrown error',
    async (failAt) => {
      const sm = new InMemorySecretsManager();
      const oldPassword = hostilePassword();
      sm.seedCurrent(JSON.stringify({ username: 'app', password: oldPassword }));
      const handler = rotationHandler(new FailingStrategy(failAt), {
        client: sm.client,
        env: { EXCLUDE_CHARACTERS: '' },
        cache: null,
      });
      const token = sm.startRotation();
      const rotationToken = `${randomBytes(20).toString('hex')}-rt`;
      let thrown: unknown;
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
        try {
          await handler(rotationEvent(step, sm.arn, token, rotationToken), lambdaContext());
        } catch (error) {
          thrown = error;
          break;
        }
      }
      expect(thrown).toBeInstanceOf(Error);
      const newPassword = (
        JSON.parse(sm.versions.get(token)?.value ?? '{"password":""}') as { password: string }
      ).password;
      const secrets = [oldPassword, newPassword, rotationToken].filter((s) => s.length > 0);
      logs.assertNoneContain(secrets);
      const error = thrown as Error & Record<string, unknown>;
      const everything = `${error.message}\n${error.stack}\n${JSON.stringify(error)}`;
      for (const secret of secrets) {
        expect(everything.includes(secret)).toBe(false);
        expect(everything.includes(encodeURIComponent(secret))).toBe(false);
      }
      expect(everything).toContain(REDACTED);
      expect(logs.json().some((l) => l.message === 'Rotation step failed')).toBe(true);
    },
  );
});

describe('SecretRegistry', () => {
  it('scrubs raw, JSON-escaped, URL-encoded, SQL-escaped and base64 spellings', () => {
    const registry = new SecretRegistry();
    const secret = hostilePassword();
    registry.register(secret);
    const text = [
      secret,
      JSON.stringify({ p: secret }),
      encodeURIComponent(secret),
      secret.replace(/'/g, "''"),
      Buffer.from(secret).toString('base64'),
    ].join(' | ');
    const scrubbed = registry.scrub(text);
    expect(scrubbed.match(/\[REDACTED\]/g)?.length).toBe(5);
    expect(scrubbed).not.toContain(secret.slice(4, 16));
  });

  it('registers sensitive leaves of a JSON SecretString, not harmless fields', () => {
    const registry = new SecretRegistry();
    const password = randomBytes(12).toString('hex');
    const apiKey = randomBytes(12).toString('hex');
    registry.registerSecretString(
      JSON.stringify({ username: 'appuser', password, nested: { apiKey } }),
    );
    expect(registry.scrub(`${password} ${apiKey} appuser`)).toBe(`${REDACTED} ${REDACTED} appuser`);
  });

  it('forgets the values of an invocation scope when it ends, not before', async () => {
    const registry = new SecretRegistry();
    const secret = randomBytes(8).toString('hex');
    await registry.runInScope(async () => {
      await registry.runInScope(async () => registry.register(secret));
      expect(registry.contains(secret)).toBe(false);
      registry.register(secret);
      await new Promise((resolve) => setImmediate(resolve));
      expect(registry.contains(secret)).toBe(true);
    });
    expect(registry.contains(secret)).toBe(false);
    expect(registry.size).toBe(0);
  });

  it('a value registered by a callback that outlived its invocation is still scrubbed', async () => {
    const registry = new SecretRegistry();
    const late = randomBytes(8).toString('hex');
    let fired: Promise<void> | undefined;
    await registry.runInScope(async () => {
      // A driver's timer or event, set up during the invocation, fires after it ended: it
      // runs in the ended invocation's async context.
      fired = new Promise((resolve) =>
        setTimeout(() => {
          registry.register(late);
          resolve();
        }, 20),
      );
    });
    await fired;
    expect(registry.scrub(`error event: ${late}`)).not.toContain(late);
  });

  it('scrubError rewrites message, stack, driver fields and the cause chain, and masks sensitive keys', () => {
    const registry = new SecretRegistry();
    const secret = hostilePassword();
    registry.register(secret);
    const error = new Error('outer', { cause: driverError(secret) });
    Object.assign(error, { password: randomBytes(9).toString('hex') });
    scrubError(error, registry);
    const cause = error.cause as Error & { sql: string; connectionString: string };
    expect(cause.message).not.toContain(secret);
    expect(cause.stack).not.toContain(secret);
    expect(cause.sql).not.toContain(
      secret.slice(0, 1) === "'" ? secret : secret.replace(/'/g, "\\'"),
    );
    expect(cause.connectionString).toBe(REDACTED);
    expect((error as unknown as { password: string }).password).toBe(REDACTED);
  });

  it('the logger masks fields named like secrets even when the value was never registered', () => {
    const logger = createRotationLogger({ serviceName: 'test', registry: new SecretRegistry() });
    const unregistered = randomBytes(10).toString('hex');
    logger.info('fields', {
      password: unregistered,
      SecretString: unregistered,
      apiKey: unregistered,
      clientRequestToken: 'visible-version-id',
    });
    const line = logs.json().find((l) => l.message === 'fields');
    expect(line).toMatchObject({
      password: REDACTED,
      SecretString: REDACTED,
      apiKey: REDACTED,
      clientRequestToken: 'visible-version-id',
    });
  });
});

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/** Two strategies whose setSecret waits for the other's, then logs both pending passwords. */
function overlappingPair() {
  const passwords = new Map<string, string>();
  const arrived: (() => void)[] = [];
  const bothArrived = new Promise<void>((resolve) => {
    arrived.push(resolve);
  });
  let waiting = 2;
  const sizesWhileBothRan: number[] = [];
  const strategy = (name: string, other: string, registry: SecretRegistry): RotationStrategy => ({
    name,
    async generatePending(request: GenerateRequest) {
      return JSON.stringify({ password: await request.generatePassword() });
    },
    async apply(request: PendingRequest) {
      passwords.set(name, (JSON.parse(await request.pending()) as { password: string }).password);
      waiting -= 1;
      if (waiting === 0) for (const resolve of arrived) resolve();
      await bothArrived;
      sizesWhileBothRan.push(registry.size);
      request.logger.info(`mine ${passwords.get(name)}, theirs ${passwords.get(other)}`);
    },
    async verify() {},
  });
  return { passwords, sizesWhileBothRan, strategy };
}

describe('redaction scoped to an invocation', () => {
  it('overlapping invocations scrub each other’s values, and the registry empties when they end', async () => {
    // Prepare
    const registry = new SecretRegistry();
    const pair = overlappingPair();
    const rigs = ['a', 'b'].map((name) => {
      const sm = new InMemorySecretsManager();
      sm.seedCurrent(JSON.stringify({ password: randomBytes(12).toString('hex') }));
      const handler = rotationHandler(pair.strategy(name, name === 'a' ? 'b' : 'a', registry), {
        client: sm.client,
        env: {},
        cache: null,
        registry,
      });
      const token = sm.startRotation();
      return { sm, handler, token };
    });
    for (const { sm, handler, token } of rigs) {
      await handler(rotationEvent('createSecret', sm.arn, token), lambdaContext());
    }
    expect(registry.size).toBe(0);

    // Act: both setSecret invocations run at once in this process
    await Promise.all(
      rigs.map(({ sm, handler, token }) =>
        handler(rotationEvent('setSecret', sm.arn, token), lambdaContext()),
      ),
    );

    // Assess
    const lines = logs.lines.filter((line) => line.includes('mine '));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toContain('mine [REDACTED], theirs [REDACTED]');
    logs.assertNoneContain(pair.passwords.values());
    expect(pair.sizesWhileBothRan.every((size) => size > 0)).toBe(true);
    expect(registry.size).toBe(0);
    expect(registry.scopes).toBe(0);
  });

  it('1,000 sequential rotations beside a long-running invocation leave no growth', async () => {
    // Prepare
    const registry = new SecretRegistry();
    const sm = new InMemorySecretsManager();
    sm.seedCurrent(JSON.stringify({ username: 'app', password: randomBytes(12).toString('hex') }));
    const sizes: number[] = [];
    const strategy: RotationStrategy = {
      name: 'counting',
      async generatePending(request) {
        const current = JSON.parse(await request.current()) as Record<string, unknown>;
        return JSON.stringify({ ...current, password: await request.generatePassword() });
      },
      async apply(request) {
        await request.current();
        await request.pending();
        sizes.push(registry.size);
      },
      async verify() {},
    };
    const handler = rotationHandler(strategy, {
      client: sm.client,
      env: {},
      cache: null,
      registry,
    });
    // An invocation that stays running throughout: with a process-wide registry cleared only
    // when no invocation runs, every rotation's values would pile up.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const longSm = new InMemorySecretsManager();
    longSm.seedCurrent(JSON.stringify({ password: randomBytes(12).toString('hex') }));
    const longToken = longSm.startRotation();
    const long = rotationHandler(
      { ...strategy, name: 'long', apply: () => released },
      { client: longSm.client, env: {}, cache: null, registry },
    );
    await long(rotationEvent('createSecret', longSm.arn, longToken), lambdaContext());
    const longRunning = long(rotationEvent('setSecret', longSm.arn, longToken), lambdaContext());

    // Act
    for (let i = 0; i < 1_000; i++) {
      const token = sm.startRotation();
      for (const step of STEPS) {
        await handler(rotationEvent(step, sm.arn, token), lambdaContext());
      }
      // Keep the fake small: only the new current version.
      const current = sm.valueOf('AWSCURRENT') as string;
      sm.versions.clear();
      sm.seedCurrent(current);
    }
    const sizeWhileLongRan = registry.size;
    release();
    await longRunning;

    // Assess: setSecret holds no more spellings in the last rotations than in the first (the
    // count varies a little with the characters of each password: escaping may or may not
    // change it)
    expect(sizes).toHaveLength(1_000);
    expect(Math.max(...sizes.slice(-100))).toBeLessThanOrEqual(Math.max(...sizes.slice(0, 100)));
    expect(Math.max(...sizes)).toBeLessThan(60);
    expect(sizeWhileLongRan).toBeLessThan(20);
    expect(registry.size).toBe(0);
    expect(registry.scopes).toBe(0);
  }, 120_000);
});
