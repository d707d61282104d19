import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { STEP_METRICS } from '../../shared/engine/stepMetrics.js';
import type { GenerateRequest, RotationStrategy } from '../../shared/engine/types.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();

interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** The embedded-metric-format lines among the captured output. */
function emfLines(): EmfLine[] {
  return logs.json().filter((line): line is EmfLine => typeof line._aws === 'object');
}

class PasswordStrategy implements RotationStrategy {
  readonly name = 'metrics-test';
  failVerify: Error | undefined;
  async generatePending(request: GenerateRequest): Promise<string> {
    return JSON.stringify({ username: 'app', password: await request.generatePassword() });
  }
  async apply(): Promise<void> {}
  async verify(): Promise<void> {
    if (this.failVerify) throw this.failVerify;
  }
  async afterPromotion(): Promise<void> {}
}

function setup(env: NodeJS.ProcessEnv = {}) {
  const sm = new InMemorySecretsManager();
  const password = randomBytes(18).toString('base64url');
  sm.seedCurrent(JSON.stringify({ username: 'app', password }));
  const strategy = new PasswordStrategy();
  const handler = rotationHandler(strategy, { client: sm.client, env, cache: null });
  const invoke = (step: Parameters<typeof rotationEvent>[0], token: string) =>
    handler(rotationEvent(step, sm.arn, token), lambdaContext());
  return { sm, strategy, invoke, password };
}

describe('step metrics (EMF)', () => {
  it('prints one EMF line per step: duration in ms, success and failure counts, dimensioned by strategy and step, the ARN as metadata', async () => {
    const { sm, invoke, password } = setup({ POWERTOOLS_METRICS_NAMESPACE: 'RotatorTest' });
    const token = sm.startRotation();
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await invoke(step, token);
    }
    const lines = emfLines();
    expect(lines.map((l) => l.step)).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    for (const line of lines) {
      const [directive] = line._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe('RotatorTest');
      expect(directive?.Dimensions).toEqual([['service', 'strategy', 'step']]);
      expect(directive?.Metrics).toEqual([
        { Name: STEP_METRICS.duration, Unit: 'Milliseconds' },
        { Name: STEP_METRICS.success, Unit: 'Count' },
        { Name: STEP_METRICS.failure, Unit: 'Count' },
      ]);
      expect(line.strategy).toBe('metrics-test');
      expect(line.secretArn).toBe(sm.arn);
      expect(line.StepSuccess).toBe(1);
      expect(line.StepFailure).toBe(0);
      expect(typeof line.StepDuration).toBe('number');
      // The secret is metadata, never a dimension: one metric stream per strategy and step.
      expect(directive?.Dimensions.flat()).not.toContain('secretArn');
    }
    logs.assertNoneContain([password, sm.valueOf('AWSCURRENT') ?? '']);
  });

  it('counts retry-repaired states: a createSecret retried after its value was stored, a finishSecret retried after the label moved', async () => {
    const { sm, invoke } = setup();
    const token = sm.startRotation();
    await invoke('createSecret', token);
    await invoke('createSecret', token);
    await invoke('setSecret', token);
    await invoke('testSecret', token);
    await invoke('finishSecret', token);
    await invoke('finishSecret', token);
    const lines = emfLines();
    const names = (line: EmfLine | undefined) =>
      line?._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name) ?? [];
    expect(names(lines[0])).not.toContain(STEP_METRICS.pendingExisted);
    expect(names(lines[1])).toContain(STEP_METRICS.pendingExisted);
    expect(lines[1]?.PendingExisted).toBe(1);
    expect(names(lines[5])).toContain(STEP_METRICS.promotionHookRerun);
    expect(lines[5]?.PromotionHookRerun).toBe(1);
  });

  it('a failed step counts a failure, and a freeze refusal also counts RotationFrozen', async () => {
    const { sm, strategy, invoke } = setup();
    const token = sm.startRotation();
    await invoke('createSecret', token);
    await invoke('setSecret', token);
    strategy.failVerify = new Error('login refused');
    await expect(invoke('testSecret', token)).rejects.toThrow('login refused');
    strategy.failVerify = Object.assign(new Error('frozen until Monday'), {
      name: 'RotationFrozenError',
    });
    await expect(invoke('testSecret', token)).rejects.toThrow('frozen');
    const [, , fault, frozen] = emfLines();
    expect(fault?.StepFailure).toBe(1);
    expect(fault?.StepSuccess).toBe(0);
    expect(fault?.RotationFrozen).toBeUndefined();
    expect(frozen?.StepFailure).toBe(1);
    expect(frozen?.RotationFrozen).toBe(1);
  });

  it('an invalid event still counts a failure, under step invalidEvent', async () => {
    const { invoke } = setup();
    await expect(invoke('noSuchStep' as 'createSecret', randomUUID())).rejects.toThrow();
    const [line] = emfLines();
    expect(line?.step).toBe('invalidEvent');
    expect(line?.StepFailure).toBe(1);
  });
});
