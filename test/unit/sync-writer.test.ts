import { createHash, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StepContext } from '../../shared/engine/protocol.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { syncAfterPromotion } from '../../shared/engine/targetSync.js';
import type { RotationStrategy } from '../../shared/engine/types.js';
import { SyncWriteError, TargetWriter } from '../../shared/sync/TargetWriter.js';
import { parseSyncTargets, type SyncTarget } from '../../shared/sync/targets.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword } from '../helpers/credentials.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';

const logs = captureLogs();
const meta = { $metadata: {} };

/** Parameter Store and S3 as far as the writer uses them, behind aws-sdk-client-mock. */
function fakeStores() {
  const ssm = new SSMClient({ region: 'us-east-1' });
  const s3 = new S3Client({ region: 'us-east-1' });
  const kms = new KMSClient({ region: 'us-east-1' });
  const ssmMock = mockClient(ssm);
  const s3Mock = mockClient(s3);
  const parameters = new Map<string, { value: string; version: number; keyId?: string }>();
  const objects = new Map<string, { body: string; etag: string }>();
  /** Runs before a PutObject is judged: a concurrent writer's edit. */
  const beforePut: (() => void)[] = [];
  ssmMock.on(GetParameterCommand).callsFake((input) => {
    const p = parameters.get(input.Name);
    if (!p) throw new ParameterNotFound({ message: 'not found', ...meta });
    return { ...meta, Parameter: { Name: input.Name, Value: p.value, Version: p.version } };
  });
  /** Errors the next PutParameter calls throw, in order. */
  const putParameterFailures: Error[] = [];
  ssmMock.on(PutParameterCommand).callsFake((input) => {
    const failure = putParameterFailures.shift();
    if (failure) throw failure;
    const p = parameters.get(input.Name);
    if (p && !input.Overwrite) throw new Error('ParameterAlreadyExists');
    const version = (p?.version ?? 0) + 1;
    parameters.set(input.Name, { value: input.Value, version, keyId: input.KeyId });
    return { ...meta, Version: version };
  });
  const etagOf = (body: string) => `"${createHash('md5').update(body).digest('hex')}"`;
  const preconditionFailed = () =>
    new S3ServiceException({
      name: 'PreconditionFailed',
      $fault: 'client',
      $metadata: { httpStatusCode: 412 },
      message: 'At least one of the pre-conditions you specified did not hold',
    });
  s3Mock.on(GetObjectCommand).callsFake((input) => {
    const o = objects.get(`${input.Bucket}/${input.Key}`);
    if (!o) throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', ...meta });
    return { ...meta, ETag: o.etag, Body: { transformToString: async () => o.body } };
  });
  s3Mock.on(PutObjectCommand).callsFake((input) => {
    beforePut.shift()?.();
    const id = `${input.Bucket}/${input.Key}`;
    const o = objects.get(id);
    if (input.IfMatch !== undefined && o?.etag !== input.IfMatch) throw preconditionFailed();
    if (input.IfNoneMatch === '*' && o) throw preconditionFailed();
    const body = String(input.Body);
    objects.set(id, { body, etag: etagOf(body) });
    return { ...meta, ETag: etagOf(body) };
  });
  const put = (id: string, body: string) => objects.set(id, { body, etag: etagOf(body) });
  return {
    clients: { ssm: () => ssm, s3: () => s3, kms: () => kms },
    ssmMock,
    s3Mock,
    parameters,
    objects,
    beforePut,
    putParameterFailures,
    put,
  };
}

function onlyTarget(entries: Record<string, string>): SyncTarget {
  const [target] = parseSyncTargets(new Map(Object.entries(entries)));
  if (!target) throw new Error('expected one target');
  return target;
}

describe('TargetWriter', () => {
  let stores: ReturnType<typeof fakeStores>;
  let writer: TargetWriter;
  beforeEach(() => {
    stores = fakeStores();
    writer = new TargetWriter(stores.clients);
  });

  it('writes a SecureString with Overwrite and the KMS key, and skips it when it already holds the value', async () => {
    const target = onlyTarget({ 'rotator:sync:ssm:1': 'name=/acme/db key=alias/acme' });
    const first = randomPassword();
    const second = randomPassword();
    expect(await writer.write(target, first)).toBe('missing');
    expect(await writer.write(target, first)).toBe('in-step');
    expect(await writer.write(target, second)).toBe('stale');
    expect(stores.parameters.get('/acme/db')).toEqual({
      value: second,
      version: 2,
      keyId: 'alias/acme',
    });
    const puts = stores.ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts[1]).toMatchObject({ Type: 'SecureString', Overwrite: true });
    expect(await writer.check(target, second)).toBe('in-step');
    expect(await writer.check(target, first)).toBe('stale');
  });

  it('replaces only its field of a JSON object, conditional on the ETag it read', async () => {
    const target = onlyTarget({
      'rotator:sync:s3:1':
        'bucket=acme key=app.json format=json pointer=/db/password kms=alias/acme',
    });
    stores.put('acme/app.json', JSON.stringify({ db: { host: 'h', password: 'old' }, flag: 1 }));
    const etag = stores.objects.get('acme/app.json')?.etag;
    const value = randomPassword();
    expect(await writer.write(target, value)).toBe('stale');
    const [put] = stores.s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(put).toMatchObject({
      IfMatch: etag,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/acme',
    });
    expect(JSON.parse(stores.objects.get('acme/app.json')?.body ?? '')).toEqual({
      db: { host: 'h', password: value },
      flag: 1,
    });
    expect(await writer.write(target, value)).toBe('in-step');
    expect(stores.s3Mock.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  it('keeps a concurrent edit of another field: re-reads after 412 and writes again', async () => {
    const target = onlyTarget({
      'rotator:sync:s3:1': 'bucket=acme key=app.json format=json pointer=/db/password kms=k',
    });
    stores.put('acme/app.json', JSON.stringify({ db: { password: 'old' }, flag: 1 }));
    stores.beforePut.push(() =>
      stores.put('acme/app.json', JSON.stringify({ db: { password: 'old' }, flag: 2, added: 'x' })),
    );
    const value = randomPassword();
    await writer.write(target, value);
    expect(JSON.parse(stores.objects.get('acme/app.json')?.body ?? '')).toEqual({
      db: { password: value },
      flag: 2,
      added: 'x',
    });
    expect(stores.s3Mock.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it('creates a missing object with If-None-Match, and gives up after five concurrent edits', async () => {
    const target = onlyTarget({
      'rotator:sync:s3:1': 'bucket=acme key=app.env format=env var=DB_PASSWORD kms=k',
    });
    const value = randomPassword();
    expect(await writer.write(target, value)).toBe('missing');
    expect(stores.s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe('*');
    expect(stores.objects.get('acme/app.env')?.body).toBe(`DB_PASSWORD=${value}\n`);

    for (let i = 0; i < 5; i++) stores.beforePut.push(() => stores.put('acme/app.env', `X=${i}\n`));
    const next = randomPassword();
    const error = await writer.write(target, next).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncWriteError);
    expect((error as Error).message).toMatch(
      /Sync target s3:\/\/acme\/app\.env#DB_PASSWORD \(env\) \(tag "rotator:sync:s3:1"\): PutObject \(changed concurrently 5 times\) failed/,
    );
    expect((error as Error).message).not.toContain(next);
  });

  it('names the target and the operation, never the value, when a write is refused', async () => {
    const target = onlyTarget({ 'rotator:sync:ssm:1': 'name=/acme/db' });
    stores.ssmMock
      .on(PutParameterCommand)
      .rejects(
        Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }),
      );
    const value = randomPassword();
    const error = await writer.write(target, value).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Sync target ssm:/acme/db (tag "rotator:sync:ssm:1"): PutParameter failed: AccessDeniedException',
    );
  });
});

describe('finishSecret writes the sync targets after the promotion', () => {
  const strategy: RotationStrategy = {
    name: 'plain',
    generatePending: async (r) =>
      JSON.stringify({ ...JSON.parse(await r.current()), password: await r.generatePassword() }),
    apply: async () => undefined,
    verify: async () => undefined,
  };

  function setup() {
    const sm = new InMemorySecretsManager();
    const stores = fakeStores();
    let loads = 0;
    const handler = rotationHandler(strategy, {
      client: sm.client,
      env: {},
      cache: null,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      targetWriter: async () => {
        loads++;
        return new TargetWriter(stores.clients);
      },
    });
    sm.seedCurrent(JSON.stringify({ username: 'app', password: randomPassword() }));
    const rotate = async (token: string, steps: string[]) => {
      for (const step of steps)
        await handler(rotationEvent(step as 'createSecret', sm.arn, token), lambdaContext());
    };
    return { sm, stores, handler, rotate, loads: () => loads };
  }

  /** A secret with an SSM and an S3 target (JSON, beside another field), rotated up to finishSecret. */
  async function testedWithTwoTargets() {
    const rig = setup();
    rig.sm.tags.set('rotator:sync:ssm:1', 'name=/acme/db field=password');
    rig.sm.tags.set(
      'rotator:sync:s3:1',
      'bucket=acme key=app.json format=json pointer=/db/password field=password kms=k',
    );
    rig.stores.put('acme/app.json', JSON.stringify({ db: { password: 'old' }, other: true }));
    const token = randomUUID();
    rig.sm.startRotation(token);
    await rig.rotate(token, ['createSecret', 'setSecret', 'testSecret']);
    return { ...rig, token };
  }

  /**
   * What a newer rotation leaves when it finished while `older`'s finishSecret writes: its
   * version AWSCURRENT (`older` AWSPREVIOUS, no AWSPENDING) and both targets on its password.
   */
  function newerRotationFinished(
    sm: InMemorySecretsManager,
    stores: ReturnType<typeof fakeStores>,
    older: string,
    newer: string,
    newerPassword: string,
  ): void {
    for (const version of sm.versions.values()) {
      for (const stage of ['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING']) version.stages.delete(stage);
    }
    sm.versions.get(older)?.stages.add('AWSPREVIOUS');
    sm.versions.set(newer, {
      value: JSON.stringify({ username: 'app', password: newerPassword }),
      stages: new Set(['AWSCURRENT']),
    });
    stores.parameters.set('/acme/db', { value: newerPassword, version: 9 });
    stores.put('acme/app.json', JSON.stringify({ db: { password: newerPassword }, other: true }));
  }

  it('a secret without sync tags loads no writer and makes no SSM or S3 call', async () => {
    const { sm, stores, rotate, loads } = setup();
    const token = randomUUID();
    sm.startRotation(token);
    await rotate(token, ['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect(loads()).toBe(0);
    expect(stores.ssmMock.calls()).toHaveLength(0);
    expect(stores.s3Mock.calls()).toHaveLength(0);
  });

  it('a failed target fails finishSecret after the promotion; the retry syncs without moving labels', async () => {
    const { sm, stores, rotate, token } = await testedWithTwoTargets();
    stores.putParameterFailures.push(
      Object.assign(new Error('throttled'), { name: 'ThrottlingException' }),
    );

    const failure = await rotate(token, ['finishSecret']).catch((e: unknown) => e);
    expect((failure as Error).message).toMatch(
      /^The new value is AWSCURRENT, but 1 sync target\(s\) were not updated.*ssm:\/acme\/db \(tag "rotator:sync:ssm:1"\): PutParameter failed: ThrottlingException$/,
    );
    expect(sm.versionWith('AWSCURRENT')).toBe(token);
    const password = (JSON.parse(sm.versions.get(token)?.value ?? '{}') as { password: string })
      .password;
    // The S3 target was written although the SSM one failed.
    expect(JSON.parse(stores.objects.get('acme/app.json')?.body ?? '')).toEqual({
      db: { password },
      other: true,
    });
    expect((failure as Error).message).not.toContain(password);

    const promotions = sm.mock.commandCalls(UpdateSecretVersionStageCommand).length;
    await rotate(token, ['finishSecret']);
    expect(sm.mock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(promotions);
    expect(stores.parameters.get('/acme/db')?.value).toBe(password);
    expect(stores.s3Mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    // A third finishSecret finds everything in step and writes nothing.
    await rotate(token, ['finishSecret']);
    expect(stores.ssmMock.commandCalls(PutParameterCommand)).toHaveLength(2);
    logs.assertNoneContain([password]);
  });

  it('a finishSecret whose write lands after a newer rotation promoted leaves the targets on the newer AWSCURRENT', async () => {
    // Prepare
    const { sm, stores, rotate, token: older } = await testedWithTwoTargets();
    // While this finishSecret writes, a newer rotation promotes its value and syncs it first.
    const newer = randomUUID();
    const newerPassword = randomPassword();
    stores.beforePut.push(() => newerRotationFinished(sm, stores, older, newer, newerPassword));
    // Act
    await rotate(older, ['finishSecret']);
    // Assess
    expect(sm.versionWith('AWSCURRENT')).toBe(newer);
    expect(stores.parameters.get('/acme/db')?.value).toBe(newerPassword);
    expect(JSON.parse(stores.objects.get('acme/app.json')?.body ?? '')).toEqual({
      db: { password: newerPassword },
      other: true,
    });
    logs.assertNoneContain([newerPassword]);
  });

  it('a DescribeSecret still showing the labels from before the promotion does not put the previous value back in the targets', async () => {
    const { sm, stores, rotate, token } = await testedWithTwoTargets();
    const passwordOf = (id: string | undefined) =>
      (JSON.parse(sm.versions.get(id ?? '')?.value ?? '{}') as { password: string }).password;
    const previousPassword = passwordOf(sm.versionWith('AWSCURRENT'));
    const newPassword = passwordOf(token);
    // Labels as read before the promotion: the token AWSPENDING, the old version AWSCURRENT.
    const stale = await sm.client.send(new DescribeSecretCommand({ SecretId: sm.arn }));
    let staleReadsLeft = 2;
    sm.mock.on(DescribeSecretCommand).callsFake(() => {
      if (sm.versionWith('AWSCURRENT') === token && staleReadsLeft > 0) {
        staleReadsLeft--;
        return stale;
      }
      const stages: Record<string, string[]> = {};
      for (const [id, v] of sm.versions) if (v.stages.size > 0) stages[id] = [...v.stages];
      return { ...stale, VersionIdsToStages: stages };
    });
    const puts: string[] = [];
    stores.ssmMock.on(PutParameterCommand).callsFake((input) => {
      puts.push(input.Value as string);
      stores.parameters.set(input.Name as string, {
        value: input.Value as string,
        version: puts.length + 1,
      });
      return { $metadata: {}, Version: puts.length + 1 };
    });
    await rotate(token, ['finishSecret']);
    expect(sm.versionWith('AWSCURRENT')).toBe(token);
    expect(puts).not.toContain(previousPassword);
    expect(stores.parameters.get('/acme/db')?.value).toBe(newPassword);
  });

  it('a newer AWSCURRENT whose password is a JSON number stays out of the failure log and error', async () => {
    const { sm, stores, rotate, token: older } = await testedWithTwoTargets();
    const newer = randomUUID();
    const pin = String(Math.floor(1e14 + Math.random() * 8e14));
    stores.beforePut.push(() => {
      newerRotationFinished(sm, stores, older, newer, randomPassword());
      const version = sm.versions.get(newer);
      if (version) version.value = `{"username":"app","password":${pin}}`;
    });
    // Every PutParameter from here fails (ours, then the catch-up's), the catch-up's quoting
    // the value, as a careless store might.
    stores.beforePut.push(() => {
      stores.putParameterFailures.push(
        Object.assign(new Error('throttled'), { name: 'ThrottlingException' }),
        Object.assign(new Error(`Value ${pin} rejected`), { name: 'ValidationException' }),
      );
    });
    const failure = await rotate(older, ['finishSecret']).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(logs.lines.some((l) => l.includes('AWSCURRENT moved to a newer version'))).toBe(true);
    logs.assertNoneContain([pin]);
    expect(inspect(failure, { depth: 10 })).not.toContain(pin);
  });

  it('a failed target does not skip the catch-up: no other target is left on the older value', async () => {
    const { sm, stores, rotate, token: older } = await testedWithTwoTargets();
    const newer = randomUUID();
    const newerPassword = randomPassword();
    // S3 is written first (tags sorted). While it is written, a newer rotation promotes and
    // syncs both targets (and checks: it is AWSCURRENT, done). Our S3 write lands after it
    // (412, re-read, write again); our SSM write is throttled.
    stores.beforePut.push(() => {
      newerRotationFinished(sm, stores, older, newer, newerPassword);
      stores.putParameterFailures.push(
        Object.assign(new Error('throttled'), { name: 'ThrottlingException' }),
      );
    });
    // Our SSM write failed, but the catch-up wrote the newer value to both targets (SSM
    // again): the step succeeds. A failure would not help: Secrets Manager's retry of this
    // token is refused now that the token is no longer AWSCURRENT.
    await rotate(older, ['finishSecret']);
    expect(sm.versionWith('AWSCURRENT')).toBe(newer);
    expect(JSON.parse(stores.objects.get('acme/app.json')?.body ?? '')).toEqual({
      db: { password: newerPassword },
      other: true,
    });
    expect(stores.parameters.get('/acme/db')?.value).toBe(newerPassword);
  });

  it('AWSCURRENT still moving after the last catch-up round fails the step instead of reporting the targets in step', async () => {
    const writes: string[] = [];
    const versions = ['v0', 'v1', 'v2', 'v3', 'v4'];
    let currentIndex = 0;
    const secretOf = (id: string) => JSON.stringify({ username: 'app', password: `pw-${id}` });
    const tags = new Map([['rotator:sync:ssm:1', 'name=/acme/db field=password']]);
    const writer = {
      // Each write of ours: a newer rotation promotes and syncs (and checks) before it lands.
      write: async (_target: SyncTarget, value: string) => {
        currentIndex++;
        writes.push(value);
        return 'stale' as const;
      },
    } as unknown as TargetWriter;
    const describe = async () => ({
      arn: 'arn:s',
      name: 's',
      rotationEnabled: true,
      tags,
      versions: new Map(
        versions.map((id, i) => [id, i === currentIndex ? ['AWSCURRENT'] : []] as const),
      ),
    });
    const ctx = {
      event: { ClientRequestToken: 'v0', SecretId: 'arn:s', Step: 'finishSecret' },
      gateway: {
        describe,
        getVersion: async (_arn: string, id: string) => ({ text: secretOf(id), binary: false }),
      },
      targets: async () => writer,
      logger: new Logger({ logLevel: 'SILENT' }),
      signal: new AbortController().signal,
    } as unknown as StepContext;
    await expect(
      syncAfterPromotion(ctx, 'arn:s', parseSyncTargets(tags), async () => secretOf('v0')),
    ).rejects.toThrow(/AWSCURRENT kept moving .* rotator reconcile --apply/);
    expect(writes).toHaveLength(4);
  });

  it('refuses a malformed sync tag at createSecret, before anything is stored', async () => {
    const { sm, rotate } = setup();
    sm.tags.set('rotator:sync:s3:1', 'bucket=acme key=app.json format=json kms=k');
    const token = randomUUID();
    sm.startRotation(token);
    await expect(rotate(token, ['createSecret'])).rejects.toThrow(
      'Sync target tag "rotator:sync:s3:1": setting "pointer" is required',
    );
    expect(sm.versions.get(token)?.value).toBeUndefined();
  });
});
