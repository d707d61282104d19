import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import {
  activeFreezeWindow,
  FREEZE_TAG,
  FreezeWindowError,
  parseFreezeWindows,
  RotationFrozenError,
} from '../../shared/governance/freeze.js';
import { stackFreezeReader } from '../../shared/governance/stackFreeze.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();
const at = (iso: string) => Date.parse(iso);

describe('freeze window declarations', () => {
  it('parses one-off windows (minutes or whole days, UTC) and weekly ones, start included, end excluded', () => {
    const windows = parseFreezeWindows(
      '2026-12-20T18:30Z/2027-01-04T08:00Z  2027-03-01/2027-03-02',
      'tag',
    );
    expect(windows.map((w) => w.kind)).toEqual(['once', 'once']);
    expect(activeFreezeWindow(windows, at('2026-12-20T18:29:59Z'))).toBeUndefined();
    expect(activeFreezeWindow(windows, at('2026-12-20T18:30:00Z'))?.text).toBe(
      '2026-12-20T18:30Z/2027-01-04T08:00Z',
    );
    expect(activeFreezeWindow(windows, at('2027-01-04T08:00:00Z'))).toBeUndefined();
    expect(activeFreezeWindow(windows, at('2027-03-01T23:59:00Z'))?.text).toBe(
      '2027-03-01/2027-03-02',
    );
    expect(activeFreezeWindow(windows, at('2027-03-02T00:00:00Z'))).toBeUndefined();
    // 2027-03-05 is a Friday; the weekly window wraps over Sunday night into Monday.
    const weekly = parseFreezeWindows('Fri16:00/Mon08:00', 'tag');
    expect(weekly.map((w) => w.kind)).toEqual(['weekly']);
    expect(activeFreezeWindow(weekly, at('2027-03-05T15:59:00Z'))).toBeUndefined();
    expect(activeFreezeWindow(weekly, at('2027-03-05T16:00:00Z'))?.kind).toBe('weekly');
    expect(activeFreezeWindow(weekly, at('2027-03-07T23:00:00Z'))?.kind).toBe('weekly');
    expect(activeFreezeWindow(weekly, at('2027-03-08T07:59:00Z'))?.kind).toBe('weekly');
    expect(activeFreezeWindow(weekly, at('2027-03-08T08:00:00Z'))).toBeUndefined();
    expect(activeFreezeWindow(weekly, at('2027-03-10T12:00:00Z'))).toBeUndefined();
    const midweek = parseFreezeWindows('Tue09:00/Tue17:30', 'tag');
    expect(activeFreezeWindow(midweek, at('2027-03-09T17:29:00Z'))?.kind).toBe('weekly');
    expect(activeFreezeWindow(midweek, at('2027-03-09T17:30:00Z'))).toBeUndefined();
  });

  it.each([
    ['2026-12-20', 'is not START/END'],
    ['2026-12-20/2026-12-19', 'ends before it starts'],
    ['2026-02-30/2026-03-02', 'is not a UTC time'],
    ['2026-12-20T10:00/2026-12-21', 'is not a UTC time'],
    ['2026-12-20T10:00+01:00/2026-12-21', 'is not a UTC time'],
    ['Fri16:00/Fri16:00', 'different weekly end'],
    ['Fri25:00/Mon08:00', 'no such time of day'],
    ['Fri16:00/2026-12-21', 'different weekly end'],
  ])('refuses %s with a typed error naming where it was declared', (declaration, problem) => {
    const field = `the tag ${FREEZE_TAG} of secret arn:x`;
    const error = (() => {
      try {
        parseFreezeWindows(declaration, field);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(FreezeWindowError);
    expect((error as FreezeWindowError).field).toBe(field);
    expect((error as Error).message).toContain(problem);
    expect((error as Error).message).toContain(field);
  });
});

describe('createSecret inside a freeze window', () => {
  function setup(now: number) {
    const sm = new InMemorySecretsManager();
    sm.seedCurrent(JSON.stringify({ username: 'app', password: randomBytes(18).toString('hex') }));
    const handler = rotationHandler(new ExampleStrategy(), {
      client: sm.client,
      env: {},
      cache: null,
    });
    // The clock the check reads: the engine's default is Date.now.
    const realNow = Date.now;
    const invoke = async (step: Parameters<typeof rotationEvent>[0], token: string) => {
      Date.now = () => now;
      try {
        return await handler(rotationEvent(step, sm.arn, token), lambdaContext());
      } finally {
        Date.now = realNow;
      }
    };
    return { sm, invoke };
  }

  it('refuses with RotationFrozenError saying "frozen", which window and where, and writes nothing; after the window the same step works', async () => {
    const { sm, invoke } = setup(at('2026-12-24T12:00:00Z'));
    sm.tags.set(FREEZE_TAG, '2026-12-20/2027-01-04');
    const token = sm.startRotation();
    const error = await invoke('createSecret', token).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RotationFrozenError);
    expect((error as Error).name).toBe('RotationFrozenError');
    expect((error as Error).message).toMatch(/^Rotation frozen: the tag rotator:freeze of secret /);
    expect((error as Error).message).toContain('2026-12-20/2027-01-04');
    expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(sm.valueOf('AWSPENDING')).toBeUndefined();
    const metric = logs.json().find((line) => line.RotationFrozen === 1);
    expect(metric?.step).toBe('createSecret');

    sm.tags.set(FREEZE_TAG, '2026-12-01/2026-12-02');
    await invoke('createSecret', token);
    expect(sm.valueOf('AWSPENDING')).toBeDefined();
  });

  it('a malformed declaration fails createSecret with an error naming the tag, and writes nothing', async () => {
    const { sm, invoke } = setup(at('2026-12-24T12:00:00Z'));
    sm.tags.set(FREEZE_TAG, 'next-week');
    const token = sm.startRotation();
    await expect(invoke('createSecret', token)).rejects.toThrow(
      /Invalid freeze window in the tag rotator:freeze of secret/,
    );
    expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});

describe("createSecret's admin freeze-tag lookup", () => {
  it('runs beside the read of the pending version, not before it (alternating createSecret pays no round trip of its own for it)', async () => {
    const sm = new InMemorySecretsManager();
    const adminArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf';
    sm.seedCurrent(
      JSON.stringify({
        username: 'app',
        password: randomBytes(18).toString('hex'),
        masterarn: adminArn,
      }),
    );
    const handler = rotationHandler(new ExampleStrategy(), {
      client: sm.client,
      env: {},
      cache: null,
    });
    const token = sm.startRotation();
    let pendingReadBeforeAdminAnswered: boolean | undefined;
    sm.mock.on(DescribeSecretCommand, { SecretId: adminArn }).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      pendingReadBeforeAdminAnswered = sm.mock
        .commandCalls(GetSecretValueCommand)
        .some((call) => call.args[0].input.VersionId === token);
      return { ARN: adminArn, Name: 'admin', Tags: [], VersionIdsToStages: {} };
    });
    await handler(rotationEvent('createSecret', sm.arn, token), lambdaContext());
    expect(pendingReadBeforeAdminAnswered).toBe(true);
    expect(sm.valueOf('AWSPENDING')).toBeDefined();
  });
});

describe('the stack-wide freeze parameter read by a warm function', () => {
  it('is read again once 60 s have passed, even when the wall clock was stepped back meanwhile', async () => {
    let value = 'none';
    let reads = 0;
    // The SSM endpoint (AWS_ENDPOINT_URL_SSM): the reader signs one HTTPS call, no SDK client.
    const ssm = createServer((_request, response) => {
      reads += 1;
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      response.end(JSON.stringify({ Parameter: { Value: value } }));
    });
    await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', resolve));
    let now = 10 * 3_600_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const read = stackFreezeReader({
        env: {
          FREEZE_PARAMETER_NAME: '/rotator/freeze',
          AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`,
        },
        region: async () => 'us-east-1',
        credentials: async () => ({
          accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
          secretAccessKey: randomBytes(20).toString('base64'),
        }),
      });
      expect(await read?.()).toMatchObject({ declaration: '' });
      // A window is declared; NTP steps the clock back an hour; ten minutes go by.
      value = 'Fri16:00/Mon08:00';
      now += -3_600_000 + 600_000;
      expect((await read?.())?.declaration).toBe(value);
      expect(reads).toBe(2);
    } finally {
      clock.mockRestore();
      ssm.close();
    }
  });
});
