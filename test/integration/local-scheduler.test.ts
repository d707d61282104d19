import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../local/secrets-manager/index.js';
import { DEFAULT_SCHEDULER_CONCURRENCY } from '../../local/secrets-manager/scheduler.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import {
  randomCredential,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
} from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const DAY = 86_400_000;

/**
 * A twin on a manual clock with `count` secrets whose 1-day rotation falls due together, and a
 * rotation function that records how many rotations overlap (each step yields for a moment).
 */
async function dueTogether(count: number, schedulerConcurrency?: number) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const running = new Set<string>();
  let most = 0;
  const twin = await start({
    clock,
    ...(schedulerConcurrency !== undefined ? { schedulerConcurrency } : {}),
    registry: ({ client }) => {
      const script = scriptedRotationFunction(client);
      const fn = async (event: RotationEvent, context: Context) => {
        running.add(event.SecretId);
        most = Math.max(most, running.size);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await script.fn(event, context);
        if (event.Step === 'finishSecret') running.delete(event.SecretId);
      };
      return new Map([['fn', fn]]);
    },
  });
  const names = Array.from({ length: count }, () => uniqueName('due'));
  for (const name of names) {
    twin.store.createSecret({ Name: name, SecretString: randomCredential() });
    twin.store.configureRotation(name, 'fn', { AutomaticallyAfterDays: 1 });
  }
  await twin.persist();
  return { twin, clock, names, most: () => most };
}

describe('local Secrets Manager: the scheduler starts due rotations with a concurrency limit', () => {
  it('runs at most schedulerConcurrency scheduled rotations at once, and every due one in the end', async () => {
    // Prepare
    const { twin, clock, names, most } = await dueTogether(12, 3);
    // Act
    clock.advance(2 * DAY);
    // Assess: the first tick started only the limit; the others stay due, untouched.
    const pending = names.filter((name) => twin.rotations.status(name) !== undefined);
    expect(pending).toHaveLength(3);
    await twin.rotations.settled();
    expect(most()).toBe(3);
    for (const name of names) expect(twin.rotations.status(name)?.state).toBe('Succeeded');
  });

  it(`defaults to ${DEFAULT_SCHEDULER_CONCURRENCY} at once`, async () => {
    const { twin, clock, names, most } = await dueTogether(DEFAULT_SCHEDULER_CONCURRENCY + 4);
    clock.advance(2 * DAY);
    await twin.rotations.settled();
    expect(most()).toBe(DEFAULT_SCHEDULER_CONCURRENCY);
    for (const name of names) expect(twin.rotations.status(name)?.state).toBe('Succeeded');
  });

  it('refuses a concurrency that is not a positive integer', async () => {
    await expect(start({ schedulerConcurrency: 0 })).rejects.toThrow(/positive integer/);
  });
});
