import { randomInt } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type RotationRulesType,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../local/secrets-manager/index.js';
import {
  nextCronTime,
  nextRotationTime,
  parseCron,
  parseRotationRules,
  parseScheduleExpression,
} from '../../local/secrets-manager/schedule.js';
import { DEFAULT_SCHEDULER_CONCURRENCY } from '../../local/secrets-manager/scheduler.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import {
  eventually,
  randomCredential,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
} from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Script = ReturnType<typeof scriptedRotationFunction>;

/** A twin on a manual clock with a secret whose rotation is configured but not run yet. */
async function scheduled(
  rules: RotationRulesType,
  at: number,
  options: Parameters<typeof scriptedRotationFunction>[1] = {},
) {
  const clock = new ManualClock(at);
  let script: Script | undefined;
  const twin = await start({
    clock,
    registry: ({ client }) => {
      script = scriptedRotationFunction(client, options);
      return new Map([['scheduled', script.fn]]);
    },
  });
  const { ARN } = await twin.client.send(
    new CreateSecretCommand({ Name: uniqueName('sched'), SecretString: randomCredential() }),
  );
  await twin.client.send(
    new RotateSecretCommand({
      SecretId: ARN,
      RotationLambdaARN: 'scheduled',
      RotationRules: rules,
      RotateImmediately: false,
    }),
  );
  await twin.rotations.settled();
  const s = script as Script;
  s.invocations.length = 0;
  const describe = () => twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
  return { clock, twin, script: s, arn: ARN as string, describe };
}

describe('local Secrets Manager: rotation schedules on an injectable clock', () => {
  it('AutomaticallyAfterDays: NextRotationDate is the UTC day N days after the last rotation, and the rotation starts when it comes', async () => {
    // Prepare
    const {
      clock,
      twin,
      script,
      describe: describeSecret,
    } = await scheduled({ AutomaticallyAfterDays: 7 }, Date.UTC(2026, 0, 1, 10));
    expect((await describeSecret()).NextRotationDate?.toISOString()).toBe(
      '2026-01-08T00:00:00.000Z',
    );
    // Act: not yet due
    clock.set(Date.UTC(2026, 0, 7, 23, 59));
    await twin.rotations.settled();
    // Assess
    expect(script.steps()).toEqual([]);
    // Act: due
    clock.set(Date.UTC(2026, 0, 8, 0, 0));
    await twin.rotations.settled();
    // Assess
    const after = await describeSecret();
    expect(script.steps()).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect(after.LastRotatedDate?.toISOString()).toBe('2026-01-08T00:00:00.000Z');
    expect(after.NextRotationDate?.toISOString()).toBe('2026-01-15T00:00:00.000Z');
  });

  it('rate(N hours): windows aligned to UTC midnight, at least N hours after the last rotation', async () => {
    const {
      clock,
      twin,
      script,
      describe: describeSecret,
    } = await scheduled({ ScheduleExpression: 'rate(6 hours)' }, Date.UTC(2026, 0, 1, 1, 30));
    expect((await describeSecret()).NextRotationDate?.toISOString()).toBe(
      '2026-01-01T12:00:00.000Z',
    );
    clock.advance(10.5 * HOUR);
    await twin.rotations.settled();
    expect(script.steps()).toHaveLength(4);
    expect((await describeSecret()).NextRotationDate?.toISOString()).toBe(
      '2026-01-01T18:00:00.000Z',
    );
  });

  it('cron(): the next time the expression names, in UTC', async () => {
    const {
      clock,
      twin,
      script,
      describe: describeSecret,
    } = await scheduled(
      { ScheduleExpression: 'cron(0 16 1,15 * ? *)', Duration: '2h' },
      Date.UTC(2026, 2, 2),
    );
    expect((await describeSecret()).NextRotationDate?.toISOString()).toBe(
      '2026-03-15T16:00:00.000Z',
    );
    clock.set(Date.UTC(2026, 2, 15, 16));
    await twin.rotations.settled();
    expect(script.steps()).toHaveLength(4);
    expect((await describeSecret()).NextRotationDate?.toISOString()).toBe(
      '2026-04-01T16:00:00.000Z',
    );
  });

  it('a manual PutSecretValue "is considered a valid rotation" and moves NextRotationDate', async () => {
    const {
      clock,
      twin,
      arn,
      describe: describeSecret,
    } = await scheduled({ AutomaticallyAfterDays: 3 }, Date.UTC(2026, 0, 1));
    clock.advance(2 * DAY);
    await twin.client.send(
      new PutSecretValueCommand({ SecretId: arn, SecretString: randomCredential() }),
    );
    expect((await describeSecret()).NextRotationDate?.toISOString()).toBe(
      '2026-01-06T00:00:00.000Z',
    );
  });

  it('CancelRotateSecret stops scheduled rotations', async () => {
    const { clock, twin, script, arn } = await scheduled(
      { AutomaticallyAfterDays: 1 },
      Date.UTC(2026, 0, 1),
    );
    await twin.client.send(new CancelRotateSecretCommand({ SecretId: arn }));
    clock.advance(5 * DAY);
    await twin.rotations.settled();
    expect(script.steps()).toEqual([]);
  });

  it('a failed scheduled rotation stays pending and is not restarted by the schedule; RotateSecret re-attempts it', async () => {
    const { clock, twin, script, arn } = await scheduled(
      { AutomaticallyAfterDays: 1 },
      Date.UTC(2026, 0, 1),
      {
        failAt: { step: 'setSecret', message: 'database down', times: 1 },
      },
    );
    clock.advance(DAY);
    await twin.rotations.settled();
    clock.advance(DAY);
    await twin.rotations.settled();
    expect(script.steps()).toEqual(['createSecret', 'setSecret']);
    await twin.client.send(new RotateSecretCommand({ SecretId: arn })).catch(() => undefined);
    await twin.rotations.settled();
    expect(twin.rotations.status(arn)?.state).toBe('Succeeded');
  });
});

describe('local Secrets Manager: scheduler with a clock that does not notify', () => {
  it('polls the clock and starts the rotation once NextRotationDate has passed', async () => {
    // Prepare: a plain Clock (not a ManualClock), as the wall clock is.
    let now = Date.UTC(2026, 0, 1, 9);
    let script: Script | undefined;
    const twin = await start({
      clock: { now: () => now },
      schedulerIntervalMs: 10,
      registry: ({ client }) => {
        script = scriptedRotationFunction(client);
        return new Map([['polled', script.fn]]);
      },
    });
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName('poll'), SecretString: randomCredential() }),
    );
    await twin.client.send(
      new RotateSecretCommand({
        SecretId: ARN,
        RotationLambdaARN: 'polled',
        RotationRules: { AutomaticallyAfterDays: 1 },
        RotateImmediately: false,
      }),
    );
    await twin.rotations.settled();
    // Act
    now = Date.UTC(2026, 0, 2, 0, 0, 1);
    const state = await eventually(async () => {
      await twin.rotations.settled();
      const record = twin.rotations.status(ARN as string);
      return record?.mode === 'rotate' && record.state !== 'InProgress' ? record.state : undefined;
    }, 10_000);
    // Assess
    expect(state).toBe('Succeeded');
    expect(script?.steps()).toEqual([
      'testSecret',
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
  });
});

describe('local Secrets Manager: schedule expressions', () => {
  it('parses AWS cron day-of-week numbers (1 = SUN) and names, L and #', () => {
    const after = Date.UTC(2026, 0, 1); // a Thursday
    const at = (body: string) =>
      new Date(nextCronTime(parseCron(body), after) as number).toISOString();
    expect(at('0 8 ? * 2 *')).toBe('2026-01-05T08:00:00.000Z'); // Monday
    expect(at('0 8 ? * MON *')).toBe('2026-01-05T08:00:00.000Z');
    expect(at('0 0 L * ? *')).toBe('2026-01-31T00:00:00.000Z');
    expect(at('0 10 ? * 3#2 *')).toBe('2026-01-13T10:00:00.000Z'); // second Tuesday
    expect(at('0 0 1 JAN,JUL ? *')).toBe('2026-07-01T00:00:00.000Z');
  });

  it('rate(N hours): windows restart at each UTC midnight and never extend into the next UTC day', () => {
    const hour = 3_600_000;
    // rate(5 hours): windows at 00, 05, 10, 15, 20 every day; the 20:00 one ends by midnight.
    const day = Date.UTC(2026, 0, 1);
    const after = day + (20 + randomInt(0, 4)) * hour;
    expect(
      new Date(nextRotationTime({ kind: 'hours', hours: 5 }, after) as number).toISOString(),
    ).toBe('2026-01-02T05:00:00.000Z');
    expect(() =>
      parseRotationRules({ ScheduleExpression: 'rate(5 hours)', Duration: '5h' }),
    ).toThrow(/next UTC day/);
    expect(parseRotationRules({ ScheduleExpression: 'rate(5 hours)', Duration: '4h' })).toEqual({
      kind: 'hours',
      hours: 5,
    });
  });

  it('treats rate(24 hours) like rate(1 day) and refuses rotating more often than every four hours', () => {
    expect(parseScheduleExpression('rate(24 hours)')).toEqual({ kind: 'days', days: 1 });
    expect(() => parseScheduleExpression('cron(0 0/2 * * ? *)')).toThrow(/4 hours/);
    expect(() => parseScheduleExpression('cron(0 1,3 * * ? *)')).toThrow(/4 hours/);
    expect(parseScheduleExpression('cron(0 1,5 * * ? *)').kind).toBe('cron');
  });
});

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
