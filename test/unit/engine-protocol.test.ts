import { randomBytes, randomUUID } from 'node:crypto';
import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type {
  GenerateRequest,
  PendingRequest,
  RotationStrategy,
} from '../../shared/engine/types.js';
import { RotationStateError } from '../../shared/errors.js';
import { VersionCache } from '../../shared/secrets/VersionCache.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();

/** What the SDK raises when Secrets Manager throttles: HTTP 400, code ThrottlingException. */
function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

/** A strategy that records what the engine asked of it. */
class RecordingStrategy implements RotationStrategy {
  readonly name = 'recording';
  readonly calls: string[] = [];
  applied = new Set<string>();
  async generatePending(request: GenerateRequest): Promise<string> {
    this.calls.push('generatePending');
    const current = JSON.parse(await request.current()) as Record<string, unknown>;
    return JSON.stringify({ ...current, password: await request.generatePassword() });
  }
  async apply(request: PendingRequest): Promise<void> {
    this.calls.push('apply');
    // Like a single-user database strategy: it needs both the pending and current logins.
    await request.current();
    this.applied.add(await request.pending());
  }
  async verify(request: PendingRequest): Promise<void> {
    this.calls.push('verify');
    const pending = await request.pending();
    if (!this.applied.has(pending)) throw new Error('pending value was never applied');
  }
  async afterPromotion(): Promise<void> {
    this.calls.push('afterPromotion');
  }
}

function setup(options: { cache?: VersionCache | null } = {}) {
  const sm = new InMemorySecretsManager();
  const strategy = new RecordingStrategy();
  const password = randomBytes(18).toString('base64url');
  sm.seedCurrent(JSON.stringify({ username: 'app', password, extra: { keep: true } }));
  const handler = rotationHandler(strategy, {
    client: sm.client,
    env: {},
    cache: options.cache === undefined ? null : options.cache,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
  });
  const invoke = (
    step: Parameters<typeof rotationEvent>[0],
    token: string,
    rotationToken?: string,
  ) => handler(rotationEvent(step, sm.arn, token, rotationToken), lambdaContext());
  return { sm, strategy, handler, invoke, password };
}

describe('rotation protocol', () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
  });

  it('runs a full rotation: the new value becomes AWSCURRENT, the old one AWSPREVIOUS, extra fields kept', async () => {
    const { sm, invoke, strategy } = env;
    const before = sm.valueOf('AWSCURRENT');
    const token = sm.startRotation();
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await invoke(step, token);
    }
    expect(sm.versionWith('AWSCURRENT')).toBe(token);
    expect(sm.valueOf('AWSPREVIOUS')).toBe(before);
    const after = JSON.parse(sm.valueOf('AWSCURRENT') ?? '{}');
    expect(after.extra).toEqual({ keep: true });
    expect(after.password).not.toBe(JSON.parse(before ?? '{}').password);
    expect(strategy.calls).toEqual(['generatePending', 'apply', 'verify', 'afterPromotion']);
  });

  it('refuses every step when rotation is disabled', async () => {
    const { sm, invoke } = env;
    sm.rotationEnabled = false;
    const token = sm.startRotation();
    await expect(invoke('createSecret', token)).rejects.toThrow(/does not have rotation enabled/);
    expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('tolerates a DescribeSecret without RotationEnabled, as AWS functions do', async () => {
    const { sm, invoke } = env;
    sm.rotationEnabled = undefined;
    const token = sm.startRotation();
    await invoke('createSecret', token);
    expect(sm.versions.get(token)?.value).toBeDefined();
  });

  it('refuses a token that is not a version of the secret', async () => {
    const { invoke, sm } = env;
    const error = await invoke('setSecret', randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RotationStateError);
    expect((error as Error).message).toMatch(/has no stage for rotation/);
    expect(sm.mock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('a strategy with companion secrets: setSecret refuses an unknown token after one read of it', async () => {
    const { invoke, sm, strategy } = env;
    Object.assign(strategy, { companionSecrets: () => [] });
    const token = randomUUID();
    const error = await invoke('setSecret', token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RotationStateError);
    expect((error as Error).message).toMatch(/has no stage for rotation/);
    expect(sm.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: sm.arn, VersionId: token, VersionStage: 'AWSPENDING' },
    ]);
    expect(strategy.calls).toEqual([]);
  });

  it.each([
    ['warm container', () => new VersionCache()],
    ['cold container', () => null],
  ])(
    'single-user style (no companion secrets), %s: setSecret refuses once rotation is disabled, and applies nothing',
    async (_label, cache) => {
      const { sm, invoke, strategy } = setup({ cache: cache() });
      const token = sm.startRotation();
      await invoke('createSecret', token);
      sm.rotationEnabled = false;
      const error = await invoke('setSecret', token).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/does not have rotation enabled/);
      expect(strategy.calls).not.toContain('apply');
    },
  );

  it.each(['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)(
    '%s on a token already AWSCURRENT does nothing and succeeds',
    async (step) => {
      const { sm, invoke, strategy } = env;
      const current = sm.versionWith('AWSCURRENT') as string;
      await invoke(step, current);
      expect(strategy.calls.filter((c) => c !== 'afterPromotion')).toEqual([]);
      expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(sm.mock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    },
  );

  it('finishSecret retried after the label moved re-runs the idempotent afterPromotion hook', async () => {
    const { sm, invoke, strategy } = env;
    const current = sm.versionWith('AWSCURRENT') as string;
    await invoke('finishSecret', current);
    expect(strategy.calls).toEqual(['afterPromotion']);
  });

  it('afterPromotion sees the labels after the move, on the first run and on a retry alike', async () => {
    const sm = new InMemorySecretsManager();
    const old = JSON.stringify({ password: randomBytes(9).toString('hex') });
    sm.seedCurrent(old);
    const seen: string[][] = [];
    const handler = rotationHandler(
      {
        name: 'view',
        generatePending: async (r) => JSON.stringify({ password: await r.generatePassword() }),
        apply: async () => {},
        verify: async () => {},
        afterPromotion: async (r) => {
          seen.push([await r.current(), (await r.previous()) ?? 'none', await r.pending()]);
        },
      },
      { client: sm.client, env: {}, cache: null },
    );
    const token = sm.startRotation();
    for (const step of ['createSecret', 'finishSecret', 'finishSecret'] as const) {
      await handler(rotationEvent(step, sm.arn, token), lambdaContext());
    }
    const fresh = sm.valueOf('AWSCURRENT') as string;
    expect(seen).toEqual([
      [fresh, old, fresh],
      [fresh, old, fresh],
    ]);
  });

  it('refuses a token that is a version but not AWSPENDING', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    await invoke('createSecret', token);
    sm.versions.get(token)?.stages.delete('AWSPENDING');
    sm.versions.get(token)?.stages.add('CUSTOM');
    await expect(invoke('setSecret', token)).rejects.toThrow(/is not set as AWSPENDING/);
  });

  it('createSecret is idempotent: a pending value already stored is kept, nothing generated', async () => {
    const { sm, invoke, strategy } = env;
    const token = sm.startRotation();
    await invoke('createSecret', token);
    const stored = sm.versions.get(token)?.value;
    await invoke('createSecret', token);
    expect(sm.versions.get(token)?.value).toBe(stored);
    expect(strategy.calls.filter((c) => c === 'generatePending')).toHaveLength(1);
    expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('createSecret stores with ClientRequestToken=token and VersionStages=[AWSPENDING]', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    await invoke('createSecret', token);
    const put = sm.mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put?.ClientRequestToken).toBe(token);
    expect(put?.VersionStages).toEqual(['AWSPENDING']);
    expect(put?.SecretId).toBe(sm.arn);
  });

  it('createSecret losing a race (ResourceExistsException) keeps the winner and re-reads it', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    const winner = JSON.stringify({ username: 'app', password: randomBytes(16).toString('hex') });
    // The other attempt stores between our probe and our put.
    sm.mock.on(PutSecretValueCommand).callsFakeOnce((input) => {
      const version = sm.versions.get(token);
      if (version) version.value = winner;
      const error = new Error(`You can't use ClientRequestToken ${input.ClientRequestToken}`);
      error.name = 'ResourceExistsException';
      throw error;
    });
    await invoke('createSecret', token);
    expect(sm.versions.get(token)?.value).toBe(winner);
    expect(
      sm.mock
        .commandCalls(GetSecretValueCommand)
        .filter((c) => c.args[0].input.VersionId === token),
    ).toHaveLength(2);
  });

  it('passes RotationToken to PutSecretValue, and only there', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    const rotationToken = `${randomUUID()}-${randomBytes(6).toString('hex')}`;
    await invoke('createSecret', token, rotationToken);
    expect(sm.rotationTokens).toEqual([rotationToken]);
    for (const call of sm.mock.calls()) {
      const input = (call.args[0] as { input: object }).input;
      if (!(call.args[0] instanceof PutSecretValueCommand))
        expect(JSON.stringify(input)).not.toContain(rotationToken);
    }
    logs.assertNoneContain([rotationToken]);
  });

  it('finishSecret moves AWSCURRENT with RemoveFromVersionId=old current, and is idempotent', async () => {
    const { sm, invoke } = env;
    const old = sm.versionWith('AWSCURRENT');
    const token = sm.startRotation();
    await invoke('createSecret', token);
    await invoke('finishSecret', token);
    await invoke('finishSecret', token);
    const updates = sm.mock.commandCalls(UpdateSecretVersionStageCommand);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.args[0].input).toMatchObject({
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: token,
      RemoveFromVersionId: old,
    });
    expect(sm.versionWith('AWSPREVIOUS')).toBe(old);
  });

  it('finishSecret completes when the label move took effect but its response was lost', async () => {
    const { sm, invoke, strategy } = env;
    const token = sm.startRotation();
    await invoke('createSecret', token);
    const old = sm.versionWith('AWSCURRENT') as string;
    let calls = 0;
    // Like the service (and the local twin): RemoveFromVersionId must hold the label.
    sm.mock.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      calls += 1;
      const from = input.RemoveFromVersionId as string;
      if (!sm.versions.get(from)?.stages.has('AWSCURRENT')) {
        throw new InvalidParameterException({
          message: `The staging label AWSCURRENT is not attached to version ${from}`,
          $metadata: {},
        });
      }
      sm.versions.get(from)?.stages.delete('AWSCURRENT');
      for (const v of sm.versions.values()) v.stages.delete('AWSPREVIOUS');
      sm.versions.get(from)?.stages.add('AWSPREVIOUS');
      sm.versions.get(input.MoveToVersionId as string)?.stages.add('AWSCURRENT');
      // The move is done, but the response never arrives: the gateway retries the call.
      if (calls === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return { $metadata: {} };
    });
    await invoke('finishSecret', token);
    expect(calls).toBe(2);
    expect(sm.versionWith('AWSCURRENT')).toBe(token);
    expect(sm.versionWith('AWSPREVIOUS')).toBe(old);
    expect(strategy.calls).toContain('afterPromotion');
  });

  it('testSecret alone (RotateImmediately=false) works against a pending version the service created', async () => {
    const { sm, handler, strategy } = env;
    // Like moto and our local twin: the test version holds a copy of the current value.
    const current = sm.valueOf('AWSCURRENT') as string;
    strategy.applied.add(current);
    const token = sm.startRotation(randomUUID(), current);
    await handler(rotationEvent('testSecret', sm.arn, token), lambdaContext());
    // And against an empty placeholder: it tests the current value.
    const empty = randomUUID();
    sm.versions.get(token)?.stages.delete('AWSPENDING');
    sm.startRotation(empty);
    await handler(rotationEvent('testSecret', sm.arn, empty), lambdaContext());
    expect(strategy.calls).toEqual(['verify', 'verify']);
  });

  it('setSecret before createSecret fails with a clear state error', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    await expect(invoke('setSecret', token)).rejects.toThrow(
      /has no value: run createSecret before setSecret/,
    );
  });

  it('retries a throttled call and then succeeds', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    sm.injectFailure('DescribeSecret', throttling());
    await invoke('createSecret', token);
    expect(sm.mock.commandCalls(DescribeSecretCommand)).toHaveLength(2);
    expect(sm.versions.get(token)?.value).toBeDefined();
    expect(logs.json().some((l) => l.message === 'Retrying Secrets Manager call')).toBe(true);
  });

  it('gives up after the retry budget and names the operation', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    sm.injectFailure('DescribeSecret', throttling(), 10);
    await expect(invoke('createSecret', token)).rejects.toThrow(
      /Secrets Manager DescribeSecret failed: ThrottlingException/,
    );
    expect(sm.mock.commandCalls(DescribeSecretCommand)).toHaveLength(3);
  });

  it('does not retry errors a retry cannot fix', async () => {
    const { sm, invoke } = env;
    const error = new Error('Access denied');
    error.name = 'AccessDeniedException';
    sm.injectFailure('DescribeSecret', error, 10);
    await expect(invoke('createSecret', randomUUID())).rejects.toThrow(/AccessDeniedException/);
    expect(sm.mock.commandCalls(DescribeSecretCommand)).toHaveLength(1);
  });

  it.each([
    [{}, 'Step'],
    [{ Step: 'rotate', SecretId: 'a', ClientRequestToken: randomUUID() }, 'Step'],
    [{ Step: 'createSecret', ClientRequestToken: randomUUID() }, 'SecretId'],
    [{ Step: 'createSecret', SecretId: '', ClientRequestToken: randomUUID() }, 'SecretId'],
    [{ Step: 'createSecret', SecretId: 42, ClientRequestToken: randomUUID() }, 'SecretId'],
    [{ Step: 'createSecret', SecretId: 'x' }, 'ClientRequestToken'],
    [{ Step: 'createSecret', SecretId: 'x', ClientRequestToken: 'short' }, 'ClientRequestToken'],
    [{ Step: 'createSecret', SecretId: 'x\u0000y', ClientRequestToken: randomUUID() }, 'SecretId'],
    // API SecretIdType: at most 2,048 characters (a 1 MB id must not reach the service).
    [
      { Step: 'createSecret', SecretId: 'a'.repeat(2_049), ClientRequestToken: randomUUID() },
      'SecretId',
    ],
    [
      {
        Step: 'createSecret',
        SecretId: 'x',
        ClientRequestToken: randomUUID(),
        RotationToken: 'has spaces in it and is long enough to pass',
      },
      'RotationToken',
    ],
    [
      { Step: 'createSecret', SecretId: 'x', ClientRequestToken: randomUUID(), RotationToken: 7 },
      'RotationToken',
    ],
  ])(
    'rejects a malformed event %j naming the field %s, before any API call',
    async (event, field) => {
      const { handler, sm } = env;
      const error = await handler(event, lambdaContext()).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'InvalidEventError', field });
      expect(sm.mock.calls()).toHaveLength(0);
    },
  );

  it('never logs the event whole, and logs step, secret, token, strategy and duration', async () => {
    const { sm, invoke } = env;
    const token = sm.startRotation();
    const rotationToken = `${randomUUID()}-${randomBytes(6).toString('hex')}`;
    await invoke('createSecret', token, rotationToken);
    // Log lines, not the step's metrics line (EMF, engine-metrics.test.ts).
    const lines = logs.json().filter((line) => !('_aws' in line));
    expect(lines.length).toBeGreaterThan(0);
    const finished = lines.find((l) => l.message === 'Rotation step finished');
    expect(finished).toMatchObject({
      step: 'createSecret',
      secretId: sm.arn,
      clientRequestToken: token,
      strategy: 'recording',
      outcome: 'created',
    });
    expect(typeof finished?.durationMs).toBe('number');
    for (const line of lines) expect(typeof line.elapsedMs, String(line.message)).toBe('number');
    logs.assertNoneContain([rotationToken]);
  });

  it('does not log the event even when POWERTOOLS_LOGGER_LOG_EVENT asks for it', async () => {
    process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
    try {
      const { sm, invoke } = setup();
      const token = sm.startRotation();
      await invoke('createSecret', token, `${randomUUID()}-${randomBytes(6).toString('hex')}`);
      expect(logs.lines.some((l) => l.includes('RotationToken') || l.includes('"Step"'))).toBe(
        false,
      );
    } finally {
      delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
    }
  });
});

describe('API call budget', () => {
  // AWS's reference functions make 14 (ROTATION-PROTOCOL.md §3.10). Secrets Manager invokes
  // the four steps back to back, so they normally share one warm container.
  it.each([
    [
      8,
      'a warm container (immutable-version cache shared by the four invocations)',
      () => new VersionCache(),
    ],
    [10, 'a cold container for every step (no cache)', () => null],
  ])(
    'makes %i Secrets Manager calls for a full rotation on %s',
    async (expected, _label, makeCache) => {
      const { sm, invoke } = setup({ cache: makeCache() });
      const token = sm.startRotation();
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
        await invoke(step, token);
      }
      const counts = sm.callCounts();
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      expect(total, JSON.stringify(counts)).toBe(expected);
      expect(counts.GetRandomPassword).toBeUndefined();
    },
  );

  it('makes 4, 3, 1 and 2 calls in the four steps with a cold container for each', async () => {
    const { sm, invoke } = setup({ cache: null });
    const token = sm.startRotation();
    const perStep: Record<string, Record<string, number>> = {};
    let before: Record<string, number> = {};
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await invoke(step, token);
      const now = sm.callCounts();
      perStep[step] = Object.fromEntries(
        Object.entries(now)
          .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
          .filter(([, n]) => n > 0),
      );
      before = now;
    }
    expect(perStep).toEqual({
      createSecret: { DescribeSecret: 1, GetSecretValue: 2, PutSecretValue: 1 },
      // setSecret keeps DescribeSecret (RotationEnabled) without companion secrets.
      setSecret: { DescribeSecret: 1, GetSecretValue: 2 },
      // One GetSecretValue by VersionId and VersionStage=AWSPENDING replaces DescribeSecret.
      testSecret: { GetSecretValue: 1 },
      finishSecret: { DescribeSecret: 1, UpdateSecretVersionStage: 1 },
    });
    const read = sm.mock.commandCalls(GetSecretValueCommand).at(-1)?.args[0].input;
    expect(read).toEqual({ SecretId: sm.arn, VersionId: token, VersionStage: 'AWSPENDING' });
  });

  it('setSecret in a container that stored the pending value keeps DescribeSecret (1 call warm)', async () => {
    const { sm, invoke } = setup({ cache: new VersionCache() });
    const token = sm.startRotation();
    await invoke('createSecret', token);
    const before = sm.callCounts();
    await invoke('setSecret', token);
    const after = sm.callCounts();
    expect(after.DescribeSecret).toBe((before.DescribeSecret ?? 0) + 1);
    expect(after.GetSecretValue ?? 0).toBe(before.GetSecretValue ?? 0);
  });

  it("reads the strategy's companion secrets with the current value in one BatchGetSecretValue", async () => {
    const { sm, invoke, strategy } = setup({ cache: null });
    const admin = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-abcdef';
    Object.assign(strategy, { companionSecrets: () => [admin] });
    const token = sm.startRotation();
    await invoke('createSecret', token);
    const before = sm.callCounts();
    await invoke('setSecret', token);
    const after = sm.callCounts();
    expect(sm.mock.commandCalls(BatchGetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretIdList: [sm.arn, admin] },
    ]);
    // The pending read and the batch: no DescribeSecret, no read of the current value alone.
    expect((after.GetSecretValue ?? 0) - (before.GetSecretValue ?? 0)).toBe(1);
    expect(after.DescribeSecret).toBe(before.DescribeSecret);
    expect(strategy.calls).toContain('apply');
  });
});

// testSecret reads the pending value with VersionStage=AWSPENDING instead of calling
// DescribeSecret first: each check DescribeSecret made there still fires.
describe('testSecret without DescribeSecret keeps the checks it replaced', () => {
  it('a token that is a version but not AWSPENDING is still an error', async () => {
    const { sm, invoke, strategy } = setup();
    const token = sm.startRotation();
    await invoke('createSecret', token);
    sm.versions.get(token)?.stages.delete('AWSPENDING');
    sm.versions.get(token)?.stages.add('CUSTOM');
    await expect(invoke('testSecret', token)).rejects.toThrow(/is not set as AWSPENDING/);
    expect(strategy.calls).not.toContain('verify');
  });

  it('a token that is not a version of the secret is still an error', async () => {
    const { invoke, strategy } = setup();
    await expect(invoke('testSecret', randomUUID())).rejects.toThrow(/has no stage for rotation/);
    expect(strategy.calls).not.toContain('verify');
  });

  it('a token already AWSCURRENT (AWSPENDING not yet cleared) is a no-op in one call', async () => {
    const { sm, invoke, strategy } = setup();
    const token = sm.startRotation();
    await invoke('createSecret', token);
    sm.versions.get(sm.versionWith('AWSCURRENT') as string)?.stages.delete('AWSCURRENT');
    sm.versions.get(token)?.stages.add('AWSCURRENT');
    sm.mock.resetHistory();
    await invoke('testSecret', token);
    expect(strategy.calls).not.toContain('verify');
    expect(sm.mock.calls()).toHaveLength(1);
  });

  it('rotation disabled: testSecret only reads, and finishSecret still refuses to promote', async () => {
    const { sm, invoke } = setup();
    const token = sm.startRotation();
    await invoke('createSecret', token);
    await invoke('setSecret', token);
    const current = sm.versionWith('AWSCURRENT');
    sm.rotationEnabled = false;
    sm.mock.resetHistory();
    await invoke('testSecret', token);
    expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(sm.mock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    await expect(invoke('finishSecret', token)).rejects.toThrow(/does not have rotation enabled/);
    expect(sm.versionWith('AWSCURRENT')).toBe(current);
  });

  it('a strategy that asks for the current value in testSecret gets it (labels read on demand)', async () => {
    const sm = new InMemorySecretsManager();
    const old = JSON.stringify({ password: randomBytes(9).toString('hex') });
    sm.seedCurrent(old);
    const seen: string[] = [];
    const handler = rotationHandler(
      {
        name: 'reads-current',
        generatePending: async (r) => JSON.stringify({ password: await r.generatePassword() }),
        apply: async () => {},
        verify: async (r) => {
          seen.push(await r.current(), await r.pending());
        },
      },
      { client: sm.client, env: {}, cache: null },
    );
    const token = sm.startRotation();
    for (const step of ['createSecret', 'testSecret'] as const) {
      await handler(rotationEvent(step, sm.arn, token), lambdaContext());
    }
    expect(seen).toEqual([old, sm.versions.get(token)?.value]);
  });
});
