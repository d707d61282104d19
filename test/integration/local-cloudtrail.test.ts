import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { parseCloudFormationYaml } from '../../cli/lib/cfnYaml.js';
import { systemClock } from '../../local/secrets-manager/clock.js';
import { CloudTrail, type TrailEvent } from '../../local/secrets-manager/cloudtrail.js';
import type { LocalSecretsManager } from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { STEP_METRICS } from '../../shared/engine/stepMetrics.js';
import type { PendingRequest } from '../../shared/engine/types.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { matchesEventPattern } from '../helpers/eventPattern.js';
import {
  randomCredential,
  uniqueName,
  useLocalSecretsManager,
  useTempDirs,
} from '../helpers/localSecretsManager.js';

const root = resolve(import.meta.dirname, '../..');
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:rotator-example';
const FAILING = 'arn:aws:lambda:us-east-1:123456789012:function:rotator-failing';
const logs = captureLogs();
const tempDir = useTempDirs('rotator-cloudtrail-');
const start = useLocalSecretsManager();

/** The template's alert rule pattern, read from template.yaml itself. */
function alertPattern(): unknown {
  const template = parseCloudFormationYaml(readFileSync(join(root, 'template.yaml'), 'utf8'));
  const rule = (
    template.Resources as unknown as Record<string, { Properties: { EventPattern: unknown } }>
  ).RotationFailedRule;
  if (!rule) throw new Error('template.yaml has no RotationFailedRule');
  return rule.Properties.EventPattern;
}

/** A strategy whose setSecret fails, quoting the pending value as a careless driver would. */
class FailingStrategy extends ExampleStrategy {
  override async apply(request: PendingRequest): Promise<void> {
    throw new Error(`target refused ${await request.pending()}`);
  }
}

async function twinWithFunctions(statePath?: string): Promise<LocalSecretsManager> {
  return start({
    ...(statePath ? { statePath, masterKey: Buffer.alloc(32, 7) } : {}),
    registry: ({ client }) => {
      const ok = rotationHandler(new ExampleStrategy(), { client, env: {} });
      const failing = rotationHandler(new FailingStrategy(), { client, env: {} });
      return new Map([
        ['rotator-example', (event, context) => ok(event, context)],
        ['rotator-failing', (event, context) => failing(event, context)],
      ]);
    },
  });
}

async function events(twin: LocalSecretsManager): Promise<TrailEvent[]> {
  const response = await fetch(`${twin.url}/_local/cloudtrail`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { Events: TrailEvent[] }).Events;
}

async function rotate(twin: LocalSecretsManager, functionArn: string) {
  const value = randomCredential();
  const created = await twin.client.send(
    new CreateSecretCommand({ Name: uniqueName('trail'), SecretString: value }),
  );
  const arn = created.ARN as string;
  await twin.client.send(
    new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: functionArn }),
  );
  await twin.rotations.settled();
  return { arn, value };
}

describe('local twin: CloudTrail-shaped audit trail', () => {
  it("the template's alert pattern matches the twin's record of a failed rotation, not of a successful one", async () => {
    const twin = await twinWithFunctions();
    const failed = await rotate(twin, FAILING);
    const succeeded = await rotate(twin, FUNCTION);
    expect(twin.rotations.status(failed.arn)?.state).toBe('Failed');
    expect(twin.rotations.status(succeeded.arn)?.state).toBe('Succeeded');

    const all = await events(twin);
    const of = (arn: string) =>
      all.filter(
        (e) =>
          (e.detail.additionalEventData as { SecretId?: string } | undefined)?.SecretId === arn,
      );
    expect(of(failed.arn).map((e) => e.detail.eventName)).toEqual([
      'RotationStarted',
      'RotationFailed',
    ]);
    expect(of(succeeded.arn).map((e) => e.detail.eventName)).toEqual([
      'RotationStarted',
      'RotationSucceeded',
    ]);
    const pattern = alertPattern();
    const [failure] = of(failed.arn).filter((e) => e.detail.eventName === 'RotationFailed');
    expect(failure).toMatchObject({
      'detail-type': 'AWS Service Event via CloudTrail',
      source: 'aws.secretsmanager',
      region: 'us-east-1',
      detail: { eventSource: 'secretsmanager.amazonaws.com', eventType: 'AwsServiceEvent' },
    });
    expect(String(failure?.detail.errorMessage)).toContain('during setSecret step');
    expect(matchesEventPattern(pattern, failure)).toBe(true);
    for (const event of [...of(succeeded.arn), ...of(failed.arn)]) {
      expect(matchesEventPattern(pattern, event)).toBe(event.detail.eventName === 'RotationFailed');
    }
    // Every API call is recorded too (the engine's own calls among them), and none matches.
    const calls = all.filter((e) => e['detail-type'] === 'AWS API Call via CloudTrail');
    expect(calls.map((e) => e.detail.eventName)).toEqual(
      expect.arrayContaining(['CreateSecret', 'RotateSecret', 'DescribeSecret', 'PutSecretValue']),
    );
    expect(calls.some((e) => matchesEventPattern(pattern, e))).toBe(false);
  });

  it('records an abandoned rotation (a value written during a failed rotation), which the alert matches', async () => {
    const twin = await twinWithFunctions();
    const failed = await rotate(twin, FAILING);
    await twin.client.send(
      new PutSecretValueCommand({ SecretId: failed.arn, SecretString: randomCredential() }),
    );
    const abandoned = (await events(twin)).find(
      (e) =>
        e.detail.eventName === 'RotationAbandoned' &&
        (e.detail.additionalEventData as { SecretId: string }).SecretId === failed.arn,
    );
    expect(abandoned).toBeDefined();
    expect(matchesEventPattern(alertPattern(), abandoned)).toBe(true);
  });

  it('keeps secret values out of the trail and its JSONL file beside the state file', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const twin = await twinWithFunctions(statePath);
    const failed = await rotate(twin, FAILING);
    const succeeded = await rotate(twin, FUNCTION);
    const written = randomCredential();
    await twin.client.send(
      new PutSecretValueCommand({ SecretId: succeeded.arn, SecretString: written }),
    );
    const values = [failed.value, succeeded.value, written];
    for (const arn of [failed.arn, succeeded.arn]) {
      const read = await twin.client.send(new GetSecretValueCommand({ SecretId: arn }));
      values.push(read.SecretString as string);
    }
    const pending = await twin.client.send(
      new GetSecretValueCommand({ SecretId: failed.arn, VersionStage: 'AWSPENDING' }),
    );
    values.push(pending.SecretString as string);
    const passwords = values.map((v) => (JSON.parse(v) as { password: string }).password);
    const served = JSON.stringify(await events(twin));
    await twin.close();
    const file = readFileSync(`${statePath}.cloudtrail.jsonl`, 'utf8');
    const lines = file.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.map((l) => (JSON.parse(l) as TrailEvent).detail.eventName)).toContain(
      'RotationFailed',
    );
    for (const password of passwords) {
      expect(served.includes(password)).toBe(false);
      expect(file.includes(password)).toBe(false);
    }
  });

  it('a rotation through the twin prints EMF step metrics: names, units, dimensions', async () => {
    const twin = await twinWithFunctions();
    const { arn } = await rotate(twin, FUNCTION);
    const emf = logs
      .json()
      .filter((line) => typeof line._aws === 'object' && line.secretArn === arn) as {
      _aws: {
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
      step: string;
      strategy: string;
    }[];
    expect(emf.map((l) => l.step)).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    for (const line of emf) {
      const [directive] = line._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe('Rotator');
      expect(directive?.Dimensions).toEqual([['service', 'strategy', 'step']]);
      expect(directive?.Metrics).toEqual([
        { Name: STEP_METRICS.duration, Unit: 'Milliseconds' },
        { Name: STEP_METRICS.success, Unit: 'Count' },
        { Name: STEP_METRICS.failure, Unit: 'Count' },
      ]);
      expect(line.strategy).toBe('example-password');
    }
  });

  it('an API call is in the JSONL file when its response arrives (no write left in flight)', async () => {
    const statePath = join(tempDir(), 'state.json');
    const twin = await start({ statePath, masterKey: Buffer.alloc(32, 7) });
    const file = `${statePath}.cloudtrail.jsonl`;
    for (let i = 1; i <= 5; i++) {
      await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName('trail'), SecretString: randomCredential() }),
      );
      const names = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as TrailEvent).detail.eventName);
      expect(names).toEqual(Array.from({ length: i }, () => 'CreateSecret'));
    }
  });

  it('a trail file that cannot be written stops the file, never the twin: events stay in memory', async () => {
    const dir = tempDir();
    // A directory where the file should be: the open fails (EISDIR).
    const trail = new CloudTrail({ accountId: '123456789012', clock: systemClock, file: dir });
    trail.apiCall({ operation: 'ListSecrets', region: 'us-east-1', input: {}, requestId: 'r1' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    trail.apiCall({ operation: 'ListSecrets', region: 'us-east-1', input: {}, requestId: 'r2' });
    await trail.close();
    expect(trail.events().map((e) => e.detail.requestID)).toEqual(['r1', 'r2']);
  });
});
