import { randomBytes } from 'node:crypto';
import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsGateway, type VersionValue } from '../../shared/secrets/SecretsGateway.js';
import { VersionCache } from '../../shared/secrets/VersionCache.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf';
const ADMIN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-GhIjKl';
const meta = { $metadata: {} };
const secret = () => JSON.stringify({ password: randomBytes(12).toString('base64url') });

describe('SecretsGateway.getCurrentVersion with companion secrets', () => {
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  const mock = mockClient(client);
  let own: string;
  let admin: string;
  let seen: VersionValue[];
  let cache: VersionCache;
  let gateway: SecretsGateway;

  beforeEach(() => {
    mock.reset();
    own = secret();
    admin = secret();
    seen = [];
    cache = new VersionCache();
    gateway = new SecretsGateway({
      client,
      cache,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      onSecretValue: (value) => seen.push(value),
    });
    mock.on(BatchGetSecretValueCommand).resolves({
      ...meta,
      SecretValues: [
        { ARN: ADMIN, Name: 'admin', VersionId: 'a1', SecretString: admin },
        { ARN, Name: 'app', VersionId: 'v1', SecretString: own },
      ],
    });
    mock.on(GetSecretValueCommand).callsFake((input) => ({
      ...meta,
      ARN: input.SecretId,
      VersionId: input.SecretId === ADMIN ? 'a2' : 'v1',
      SecretString: input.SecretId === ADMIN ? admin : own,
    }));
  });

  it('reads both in one call, registers both, caches the own version by id, and serves the companion once', async () => {
    const current = await gateway.getCurrentVersion(ARN, [ADMIN]);
    expect(current).toEqual({ versionId: 'v1', value: { text: own, binary: false } });
    expect(mock.commandCalls(BatchGetSecretValueCommand)).toHaveLength(1);
    expect(seen.map((v) => v.text).sort()).toEqual([own, admin].sort());
    expect(cache.get(ARN, 'v1')?.text).toBe(own);
    // The admin reader's read of AWSCURRENT costs nothing, once; the next one asks again.
    expect(await gateway.getValueByStage(ADMIN, 'AWSCURRENT')).toBe(admin);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(await gateway.getValueByStage(ADMIN, 'AWSCURRENT')).toBe(admin);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('registers a companion value again when it serves it (the reader may be another invocation)', async () => {
    await gateway.getCurrentVersion(ARN, [ADMIN]);
    const before = seen.filter((v) => v.text === admin).length;
    await gateway.getValueByStage(ADMIN, 'AWSCURRENT');
    expect(seen.filter((v) => v.text === admin).length).toBe(before + 1);
  });

  it('forgets an unused companion value when the step ends', async () => {
    await gateway.getCurrentVersion(ARN, [ADMIN]);
    gateway.clearPrefetched();
    await gateway.getValueByStage(ADMIN, 'AWSCURRENT');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('never serves a prefetched value for another label', async () => {
    await gateway.getCurrentVersion(ARN, [ADMIN]);
    await gateway.getValueByStage(ADMIN, 'AWSPENDING');
    expect(mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ADMIN, VersionStage: 'AWSPENDING' },
    ]);
  });

  it('falls back to one read of its own when the batch cannot return the secret', async () => {
    mock.on(BatchGetSecretValueCommand).resolves({
      ...meta,
      SecretValues: [{ ARN: ADMIN, Name: 'admin', VersionId: 'a1', SecretString: admin }],
      Errors: [{ SecretId: ARN, ErrorCode: 'DecryptionFailure', Message: 'no key' }],
    });
    const current = await gateway.getCurrentVersion(ARN, [ADMIN]);
    expect(current?.value.text).toBe(own);
    expect(mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN, VersionStage: 'AWSCURRENT' },
    ]);
  });

  it('stops batching after an AccessDenied (a role without BatchGetSecretValue) and reads alone', async () => {
    mock.on(BatchGetSecretValueCommand).rejects(
      new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'not authorized to perform: secretsmanager:BatchGetSecretValue',
      }),
    );
    expect((await gateway.getCurrentVersion(ARN, [ADMIN]))?.value.text).toBe(own);
    expect((await gateway.getCurrentVersion(ARN, [ADMIN]))?.value.text).toBe(own);
    expect(mock.commandCalls(BatchGetSecretValueCommand)).toHaveLength(1);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reads alone, by label, without companions', async () => {
    expect(await gateway.getCurrentVersion(ARN)).toEqual({
      versionId: 'v1',
      value: { text: own, binary: false },
    });
    expect(mock.commandCalls(BatchGetSecretValueCommand)).toHaveLength(0);
  });
});
