import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ApiKeyVerifier, ApiKeyVerifierError } from 'rotator/consumer';
import { describe, expect, it } from 'vitest';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';

const newKey = () => `sk_test_${randomBytes(24).toString('base64url')}`;

/** A secret with `generations` keys, oldest first; the last is AWSCURRENT, the one before AWSPREVIOUS. */
async function secretWith(generations: number) {
  const sm = new InMemorySecretsManager();
  const keys = Array.from({ length: generations }, newKey);
  sm.seedCurrent(JSON.stringify({ apiKey: keys[0], owner: 'billing' }));
  for (const key of keys.slice(1)) await put(sm, key);
  return { sm, keys };
}

/** What a finished rotation leaves: a new AWSCURRENT, the old one AWSPREVIOUS. */
async function put(sm: InMemorySecretsManager, key: string) {
  await sm.client.send(
    new PutSecretValueCommand({ SecretId: sm.arn, SecretString: JSON.stringify({ apiKey: key }) }),
  );
}

const getCalls = (sm: InMemorySecretsManager) => sm.callCounts().GetSecretValue ?? 0;

describe('ApiKeyVerifier (consumer side of rotation)', () => {
  it('accepts the AWSCURRENT and AWSPREVIOUS keys and says which', async () => {
    const { sm, keys } = await secretWith(3);
    const verifier = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client });

    expect(await verifier.verify(keys[2])).toEqual({ valid: true, stage: 'AWSCURRENT' });
    // Read from a warm cache: the AWSPREVIOUS read must not be served the AWSCURRENT entry.
    expect(await verifier.verify(keys[1])).toEqual({ valid: true, stage: 'AWSPREVIOUS' });
  });

  it('rejects the key two generations old, unknown keys and non-strings', async () => {
    const { sm, keys } = await secretWith(3);
    const verifier = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client });

    expect(await verifier.verify(keys[0])).toEqual({ valid: false });
    expect(await verifier.verify(newKey())).toEqual({ valid: false });
    expect(await verifier.verify((keys[2] as string).slice(0, -1))).toEqual({ valid: false });
    expect(await verifier.verify(undefined)).toEqual({ valid: false });
    expect(await verifier.verify('')).toEqual({ valid: false });
  });

  it('caches: repeated checks of valid keys cost no further Secrets Manager calls', async () => {
    const { sm, keys } = await secretWith(2);
    const verifier = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client });
    await verifier.verify(keys[1]);
    const afterFirst = getCalls(sm);

    for (let i = 0; i < 20; i++) {
      await verifier.verify(keys[1]);
      await verifier.verify(keys[0]);
    }

    expect(afterFirst).toBe(2);
    expect(getCalls(sm)).toBe(afterFirst);
  });

  it('concurrent first checks share one read', async () => {
    const { sm, keys } = await secretWith(2);
    const verifier = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client });
    const results = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(keys[1])));
    expect(results.every((r) => r.valid)).toBe(true);
    expect(getCalls(sm)).toBe(2);
  });

  it('an unknown key forces one fresh read (a just-rotated key works at once), rate-limited', async () => {
    let now = 1_000_000;
    const { sm, keys } = await secretWith(2);
    const verifier = new ApiKeyVerifier({
      secretId: sm.arn,
      client: sm.client,
      minRefreshIntervalMs: 5_000,
      now: () => now,
    });
    await verifier.verify(keys[1]);
    const rotatedIn = newKey();
    await put(sm, rotatedIn);

    // The cache still holds the old pair; the miss re-reads and finds the new key.
    expect(await verifier.verify(rotatedIn)).toEqual({ valid: true, stage: 'AWSCURRENT' });
    expect(await verifier.verify(keys[1])).toEqual({ valid: true, stage: 'AWSPREVIOUS' });
    const afterRefresh = getCalls(sm);

    // A flood of wrong keys inside the interval does not reach Secrets Manager.
    for (let i = 0; i < 10; i++) expect((await verifier.verify(newKey())).valid).toBe(false);
    expect(getCalls(sm)).toBe(afterRefresh);

    now += 5_001;
    await verifier.verify(newKey());
    expect(getCalls(sm)).toBe(afterRefresh + 2);
  });

  it('a secret that was never rotated (no AWSPREVIOUS) works and is not re-asked on every check', async () => {
    const { sm, keys } = await secretWith(1);
    const verifier = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client });

    expect(await verifier.verify(keys[0])).toEqual({ valid: true, stage: 'AWSCURRENT' });
    const calls = getCalls(sm);
    for (let i = 0; i < 5; i++) await verifier.verify(keys[0]);
    expect(getCalls(sm)).toBe(calls);
  });

  it('throws a typed error (not "invalid") when the secret cannot be read, naming no value', async () => {
    const { sm } = await secretWith(1);
    const verifier = new ApiKeyVerifier({ secretId: `${sm.arn}-missing`, client: sm.client });
    await expect(verifier.verify(newKey())).rejects.toBeInstanceOf(ApiKeyVerifierError);
  });

  it('reads a renamed field, or the whole SecretString with field null', async () => {
    const sm = new InMemorySecretsManager();
    const key = newKey();
    sm.seedCurrent(key);
    const whole = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client, field: null });
    expect((await whole.verify(key)).valid).toBe(true);
    const wrongField = new ApiKeyVerifier({ secretId: sm.arn, client: sm.client, field: 'token' });
    await expect(wrongField.verify(key)).rejects.toThrow(/is not JSON/);
  });
});
