import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type {
  GenerateRequest,
  PendingRequest,
  RotationStrategy,
} from '../../shared/engine/types.js';
import { SecretRegistry } from '../../shared/logging/redaction.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();
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
