import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { BulkSummary } from '../../cli/commands/rotateMany.js';
import { main } from '../../cli/rotator.js';
import type { LocalSecretsManager } from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { PendingRequest } from '../../shared/engine/types.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { captureOutput } from '../helpers/cliOutput.js';
import { randomValue, uniqueName, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

captureLogs();
const start = useLocalSecretsManager();
const FUNCTION = 'rotator-bulk';

/** A strategy that takes a while per step and fails setSecret for users named `fail*`. */
class SlowStrategy extends ExampleStrategy {
  override async apply(request: PendingRequest): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 15));
    const { username } = JSON.parse(await request.pending()) as { username: string };
    if (username.startsWith('fail')) throw new Error('the database refused the new password');
    await super.apply(request);
  }
}

/** A twin whose function records how many rotations run at once, per database host. */
async function bulkTwin() {
  const hostOf = new Map<string, string>();
  const running = new Map<string, number>();
  const maxPerHost = new Map<string, number>();
  let maxOverall = 0;
  const ended = (arn: string) => {
    const host = hostOf.get(arn) ?? '?';
    running.set(host, (running.get(host) ?? 1) - 1);
  };
  const twin = await start({
    registry: ({ client }) => {
      const handler = rotationHandler(new SlowStrategy(), { client, env: {} });
      return new Map([
        [
          FUNCTION,
          async (event, context) => {
            const host = hostOf.get(event.SecretId) ?? '?';
            if (event.Step === 'createSecret') {
              running.set(host, (running.get(host) ?? 0) + 1);
              maxPerHost.set(host, Math.max(maxPerHost.get(host) ?? 0, running.get(host) ?? 0));
              maxOverall = Math.max(
                maxOverall,
                [...running.values()].reduce((a, b) => a + b, 0),
              );
            }
            try {
              const result = await handler(event, context);
              if (event.Step === 'finishSecret') ended(event.SecretId);
              return result;
            } catch (error) {
              // A failed step ends the rotation (the twin does not retry it by itself).
              ended(event.SecretId);
              throw error;
            }
          },
        ],
      ]);
    },
  });
  return { twin, hostOf, maxPerHost, max: () => maxOverall };
}

async function createDatabaseSecret(
  twin: LocalSecretsManager,
  host: string,
  tags: Record<string, string>,
  username = `app_${randomValue(3)}`,
) {
  const created = await twin.client.send(
    new CreateSecretCommand({
      Name: uniqueName('bulk'),
      SecretString: JSON.stringify({
        engine: 'postgres',
        host,
        port: 5432,
        dbname: 'app',
        username,
        password: randomValue(),
      }),
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  // Rotation configured without rotating: RotateSecret with RotateImmediately=false tests it.
  await twin.client.send(
    new RotateSecretCommand({
      SecretId: created.ARN,
      RotationLambdaARN: FUNCTION,
      RotateImmediately: false,
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    }),
  );
  await twin.rotations.settled();
  return { arn: created.ARN as string, name: created.Name as string };
}

async function rotator(twin: LocalSecretsManager, args: string[]) {
  const out = captureOutput();
  const code = await main(['--endpoint-url', twin.url, ...args], { out, env: {} });
  return { code, text: out.text() };
}

describe('rotator rotate --all / several secrets', () => {
  it('rotates every matching secret under the concurrency limit, one at a time per database host', async () => {
    const rig = await bulkTwin();
    const team = `team-${randomValue(3)}`;
    const hosts = ['db1.internal', 'db2.internal', 'db3.internal'];
    const secrets: { arn: string; name: string }[] = [];
    for (let i = 0; i < 12; i++) {
      // Consecutive secrets share a host: without the cap the first three would all be db1.
      const host = hosts[Math.floor(i / 4)] as string;
      const secret = await createDatabaseSecret(rig.twin, host, { team });
      rig.hostOf.set(secret.arn, host);
      secrets.push(secret);
    }
    const other = await createDatabaseSecret(rig.twin, 'db1.internal', { team: 'other' });
    const run = await rotator(rig.twin, [
      'rotate',
      '--all',
      '--tag-key',
      'team',
      '--tag-value',
      team,
      '--concurrency',
      '3',
      '--wait',
      '--poll-ms',
      '20',
    ]);
    expect(run.code, run.text).toBe(0);
    expect(run.text).toContain('Rotated 12, failed 0, skipped 0.');
    // A pipe gets one line per change: a start and an end per secret.
    expect(run.text.split('\n').filter((l) => l.startsWith('started ')).length).toBe(12);
    for (const { arn } of secrets) expect(rig.twin.rotations.status(arn)?.state).toBe('Succeeded');
    expect(rig.twin.rotations.status(other.arn)?.mode).toBe('test');
    expect(Math.max(...rig.maxPerHost.values())).toBe(1);
    expect(rig.max()).toBeGreaterThanOrEqual(2);
    expect(rig.max()).toBeLessThanOrEqual(3);
  });

  it('a list of ids with --stop-on-failure: the failure with its step and message, the rest skipped, exit 1, a JSON summary', async () => {
    const rig = await bulkTwin();
    const ok = await createDatabaseSecret(rig.twin, 'db1.internal', {});
    const bad = await createDatabaseSecret(rig.twin, 'db2.internal', {}, `fail_${randomValue(3)}`);
    const never = await createDatabaseSecret(rig.twin, 'db3.internal', {});
    const run = await rotator(rig.twin, [
      'rotate',
      ok.name,
      bad.name,
      never.name,
      'no/such/secret',
      '--concurrency',
      '1',
      '--stop-on-failure',
      '--wait',
      '--poll-ms',
      '20',
      '--json',
    ]);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.text) as BulkSummary;
    expect([summary.succeeded, summary.failed, summary.skipped]).toEqual([1, 1, 2]);
    const byName = new Map(summary.results.map((r) => [r.name, r]));
    expect(byName.get(bad.name)).toMatchObject({ outcome: 'failed', step: 'setSecret' });
    expect(byName.get(bad.name)?.message).toContain('the database refused the new password');
    expect(byName.get(never.name)?.message).toMatch(/stop-on-failure/);
    expect(byName.get('no/such/secret')?.message).toBe('no such secret');
    expect(rig.twin.rotations.status(never.arn)?.mode).toBe('test');
  });

  it('retries RotateSecret when the twin throttles it', async () => {
    const rig = await bulkTwin();
    const secrets: { arn: string; name: string }[] = [];
    for (const host of ['h1', 'h2', 'h3'])
      secrets.push(await createDatabaseSecret(rig.twin, host, {}));
    const throttle = await fetch(`${rig.twin.url}/_local/throttle`, {
      method: 'POST',
      body: JSON.stringify({ Operations: ['RotateSecret'], Count: 7 }),
    });
    expect(throttle.status).toBe(200);
    const run = await rotator(rig.twin, [
      'rotate',
      ...secrets.map((s) => s.name),
      '--wait',
      '--poll-ms',
      '20',
      '--json',
    ]);
    const summary = JSON.parse(run.text) as BulkSummary;
    expect(run.code, run.text).toBe(0);
    expect(summary.succeeded).toBe(3);
    expect(summary.throttled).toBeGreaterThanOrEqual(1);
    const refused = rig.twin.trail
      .events()
      .filter(
        (e) =>
          e.detail.eventName === 'RotateSecret' && e.detail.errorCode === 'ThrottlingException',
      );
    expect(refused).toHaveLength(7);
  });

  it('rotates hundreds: 200 secrets with --all at concurrency 8, every one succeeded', async () => {
    const rig = await bulkTwin();
    const team = `many-${randomValue(3)}`;
    const arns: string[] = [];
    for (let i = 0; i < 200; i++) {
      const created = await rig.twin.client.send(
        new CreateSecretCommand({
          Name: `${team}/s${i}`,
          SecretString: JSON.stringify({ username: `u${i}`, password: randomValue() }),
          Tags: [{ Key: 'team', Value: team }],
        }),
      );
      rig.twin.store.configureRotation(created.ARN as string, FUNCTION, {
        ScheduleExpression: 'rate(30 days)',
      });
      arns.push(created.ARN as string);
    }
    const run = await rotator(rig.twin, [
      'rotate',
      '--all',
      '--tag-value',
      team,
      '--concurrency',
      '8',
      '--rate',
      '50',
      '--wait',
      '--poll-ms',
      '10',
      '--json',
    ]);
    expect(run.code, run.text.slice(0, 500)).toBe(0);
    const summary = JSON.parse(run.text) as BulkSummary;
    expect([summary.succeeded, summary.failed, summary.skipped]).toEqual([200, 0, 0]);
    expect(arns.every((arn) => rig.twin.rotations.status(arn)?.state === 'Succeeded')).toBe(true);
    expect(rig.max()).toBeLessThanOrEqual(8);
  });
});
