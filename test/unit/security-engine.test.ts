import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * A strategy whose `apply` does not honour the abort signal (a third-party strategy, a
 * driver call that cannot be interrupted) and then fails with an error quoting the value.
 */
class SlowFailingStrategy implements RotationStrategy {
  readonly name = 'slow-failing';
  finished: Promise<void> = Promise.resolve();
  async generatePending(request: GenerateRequest): Promise<string> {
    const current = JSON.parse(await request.current()) as Record<string, unknown>;
    return JSON.stringify({ ...current, password: await request.generatePassword() });
  }
  async apply(request: PendingRequest): Promise<void> {
    const { password } = JSON.parse(await request.pending()) as { password: string };
    let done = () => {};
    this.finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      await sleep(400);
      throw new Error(`server refused SET PASSWORD = '${password}'`);
    } finally {
      setImmediate(done);
    }
  }
  async verify(): Promise<void> {}
}

describe('engine redaction after the step timed out', () => {
  it('a strategy that fails after middy aborted the step still logs no secret value', async () => {
    // Prepare
    const sm = new InMemorySecretsManager();
    const oldPassword = randomBytes(18).toString('base64url');
    sm.seedCurrent(JSON.stringify({ username: 'app', password: oldPassword }));
    const strategy = new SlowFailingStrategy();
    const handler = rotationHandler(strategy, {
      client: sm.client,
      cache: null,
      registry: new SecretRegistry(),
      timeoutEarlyInMillis: 1_000,
    });
    const token = sm.startRotation();
    const rotationToken = `${randomBytes(20).toString('hex')}-rt`;
    await handler(rotationEvent('createSecret', sm.arn, token, rotationToken), lambdaContext());

    // Act: middy gives up after ~100 ms; the strategy fails 300 ms later
    const thrown = await handler(
      rotationEvent('setSecret', sm.arn, token, rotationToken),
      lambdaContext(1_100),
    ).catch((error: unknown) => error);
    await strategy.finished;
    await sleep(20);

    // Assess
    expect((thrown as Error).name).toBe('TimeoutError');
    const newPassword = (JSON.parse(sm.versions.get(token)?.value ?? '{}') as { password: string })
      .password;
    expect(newPassword.length).toBeGreaterThan(8);
    expect(logs.json().some((line) => line.message === 'Rotation step failed')).toBe(true);
    logs.assertNoneContain([oldPassword, newPassword, rotationToken]);
  });
});
