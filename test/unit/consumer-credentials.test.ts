import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CredentialsUnavailableError, SecretCredentials } from 'rotator/consumer';
import { describe, expect, it } from 'vitest';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';

const login = (username = 'app') =>
  JSON.stringify({
    engine: 'postgres',
    host: 'db',
    username,
    password: randomBytes(18).toString('base64url'),
  });

/** A failure the gateway does not retry. */
const denied = () => Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });

/** A clock the test moves; `sleep` advances it and records the wait. */
function fakeTime() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

function setup(
  options: { maxAgeSeconds?: number; acceptPending?: (p: string, r: string) => boolean } = {},
) {
  const sm = new InMemorySecretsManager();
  const first = login();
  sm.seedCurrent(first);
  const time = fakeTime();
  const credentials = new SecretCredentials({
    secretId: sm.arn,
    client: sm.client,
    maxAgeSeconds: options.maxAgeSeconds ?? 300,
    minRefreshIntervalMs: 1_000,
    now: time.now,
    sleep: time.sleep,
    ...(options.acceptPending ? { acceptPending: options.acceptPending } : {}),
  });
  const reads = () => sm.callCounts().GetSecretValue ?? 0;
  return { sm, first, time, credentials, reads };
}

/** What a finished rotation leaves: a new AWSCURRENT. */
async function rotate(sm: InMemorySecretsManager, value: string) {
  await sm.client.send(new PutSecretValueCommand({ SecretId: sm.arn, SecretString: value }));
}

describe('SecretCredentials (consumer cache of a rotated secret)', () => {
  it('reads AWSCURRENT once for many concurrent first callers, then answers from memory', async () => {
    // Prepare
    const { first, credentials, reads } = setup();

    // Act
    const snapshots = await Promise.all(Array.from({ length: 200 }, () => credentials.get()));
    await credentials.get();

    // Assess
    expect(reads()).toBe(1);
    expect(new Set(snapshots.map((s) => s.value))).toEqual(new Set([first]));
    expect(snapshots[0]).toMatchObject({ stage: 'AWSCURRENT', generation: 1 });
  });

  it('past maxAge serves the cached value and re-reads in the background', async () => {
    // Prepare
    const { sm, first, time, credentials, reads } = setup({ maxAgeSeconds: 60 });
    await credentials.get();
    const second = login();
    await rotate(sm, second);
    time.advance(61_000);

    // Act
    const stale = await credentials.get();
    await new Promise((resolve) => setImmediate(resolve));
    const fresh = await credentials.get();

    // Assess
    expect(stale.value).toBe(first);
    expect(fresh).toMatchObject({ value: second, stage: 'AWSCURRENT', generation: 2 });
    expect(reads()).toBe(2);
  });

  it('a thousand refusals of one snapshot cause one read (single flight)', async () => {
    // Prepare
    const { sm, time, credentials, reads } = setup();
    const refused = await credentials.get();
    const second = login();
    await rotate(sm, second);
    time.advance(5_000);

    // Act
    const next = await Promise.all(
      Array.from({ length: 1_000 }, () => credentials.refresh(refused)),
    );

    // Assess
    expect(reads()).toBe(2);
    expect(new Set(next.map((s) => s.generation))).toEqual(new Set([2]));
    expect(next[0]?.value).toBe(second);
  });

  it('answers an outdated snapshot with the newer one without reading', async () => {
    // Prepare
    const { sm, time, credentials, reads } = setup();
    const refused = await credentials.get();
    await rotate(sm, login());
    time.advance(5_000);
    const newer = await credentials.refresh(refused);
    const before = reads();

    // Act
    const again = await credentials.refresh(refused);

    // Assess
    expect(again).toBe(newer);
    expect(reads()).toBe(before);
  });

  it('rate-limits refreshes: a burst of 3, then one per minRefreshIntervalMs', async () => {
    // Prepare
    const { time, credentials, reads } = setup();
    const refused = await credentials.get();
    time.advance(200);

    // Act: the secret has not changed; refuse it five times in a row, then again later.
    let snapshot = refused;
    for (let i = 0; i < 5; i++) snapshot = await credentials.refresh(snapshot);
    const waitsInBurst = [...time.sleeps];
    time.advance(2_000); // two tokens back
    for (let i = 0; i < 3; i++) snapshot = await credentials.refresh(snapshot);

    // Assess: each refresh read AWSCURRENT and AWSPENDING (there is none here).
    expect(waitsInBurst).toEqual([1_000, 1_000]);
    expect(time.sleeps).toEqual([1_000, 1_000, 1_000]);
    expect(reads()).toBe(1 + 8 * 2);
    expect(snapshot).toBe(refused);
  });

  it('uses AWSPENDING when the refused AWSCURRENT is unchanged (single-user setSecret done)', async () => {
    // Prepare
    const { sm, time, credentials } = setup();
    const refused = await credentials.get();
    const pending = JSON.stringify({
      ...JSON.parse(refused.value),
      password: 'new-password-value',
    });
    sm.startRotation(undefined, pending);
    time.advance(5_000);

    // Act
    const next = await credentials.refresh(refused);

    // Assess
    expect(next).toMatchObject({ value: pending, stage: 'AWSPENDING', generation: 2 });
  });

  it('after finishSecret the pending value becomes AWSCURRENT without a new generation', async () => {
    // Prepare
    const { sm, time, credentials } = setup({ maxAgeSeconds: 1 });
    const refused = await credentials.get();
    const pending = login();
    const token = sm.startRotation(undefined, pending);
    time.advance(5_000);
    const usingPending = await credentials.refresh(refused);
    await sm.finishRotation(token);
    time.advance(2_000);

    // Act
    await credentials.get();
    await new Promise((resolve) => setImmediate(resolve));
    const after = await credentials.get();

    // Assess
    expect(after).toMatchObject({ value: pending, stage: 'AWSCURRENT' });
    expect(after.generation).toBe(usingPending.generation);
  });

  it('refuses a pending value the acceptPending check rejects (another user: alternating)', async () => {
    // Prepare
    const { sm, time, credentials } = setup({
      acceptPending: (pending, refused) =>
        JSON.parse(pending).username === JSON.parse(refused).username,
    });
    const refused = await credentials.get();
    sm.startRotation(undefined, login('app_clone'));
    time.advance(5_000);

    // Act
    const next = await credentials.refresh(refused);

    // Assess
    expect(next).toBe(refused);
  });

  it('throws a typed error naming the secret, not a value, when nothing can be read', async () => {
    // Prepare
    const { sm, first, credentials } = setup();
    sm.injectFailure('GetSecretValue', denied(), 10);

    // Act
    const error = await credentials.get().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CredentialsUnavailableError);
    expect((error as Error).message).toContain(sm.arn);
    expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain(
      JSON.parse(first).password,
    );
  });

  it('keeps serving the cached value when a background re-read fails', async () => {
    // Prepare
    const { sm, first, time, credentials } = setup({ maxAgeSeconds: 1 });
    await credentials.get();
    sm.injectFailure('GetSecretValue', denied(), 10);
    time.advance(2_000);

    // Act
    const stale = await credentials.get();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const still = await credentials.get();

    // Assess
    expect(stale.value).toBe(first);
    expect(still.value).toBe(first);
  });
});
