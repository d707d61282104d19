import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import type { RotationStep } from '../../shared/engine/types.js';
import { reconcileApiKeys } from '../../shared/strategies/apikey/reconcile.js';
import {
  type ProviderFixtureOptions,
  type ProviderRotationFixture,
  providerRotationFixture,
  STEPS,
} from '../helpers/apiKeyFixture.js';
import type { ProviderServerCall, ProviderServerFault } from '../helpers/apiKeyProviderServer.js';
import { captureLogs } from '../helpers/captureLogs.js';

const logs = captureLogs();
const open: ProviderRotationFixture[] = [];

async function fixture(options: ProviderFixtureOptions = {}): Promise<ProviderRotationFixture> {
  const f = await providerRotationFixture(options);
  open.push(f);
  return f;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

/** The capabilities the fixture's default declaration has (maxLiveKeys 3, can list, idempotent). */
const capabilities = { maxLiveKeys: 3, canList: true, idempotentMint: true, propagationDelayMs: 0 };

/** Ids of live provider keys, sorted. */
const liveIds = (f: ProviderRotationFixture) =>
  f.server
    .liveKeys()
    .map((k) => k.id)
    .sort();

/** Ids the AWSCURRENT and AWSPREVIOUS versions refer to, sorted. */
const labelledIds = (f: ProviderRotationFixture) =>
  [f.secret('AWSCURRENT')?.keyId, f.secret('AWSPREVIOUS')?.keyId]
    .filter((id): id is string => typeof id === 'string')
    .sort();

describe('provider-issued API keys: full rotation through the real handler', () => {
  it('mints a key that authenticates, keeps the old one live, records ids and keeps unknown fields', async () => {
    const f = await fixture();
    const before = f.secret('AWSCURRENT') as Record<string, string>;

    const token = await f.rotate();

    const after = f.secret('AWSCURRENT') as Record<string, unknown>;
    expect(f.sm.versionWith('AWSCURRENT')).toBe(token);
    expect(after.apiKey).not.toBe(before.apiKey);
    expect(f.server.authenticates(after.apiKey as string)).toBe(true);
    // Overlap: clients still holding the old key keep working.
    expect(f.server.authenticates(before.apiKey as string)).toBe(true);
    expect(after.previousKeyId).toBe(before.keyId);
    expect(after.keyLabel).toBe(`rotator-${token}`);
    expect(after.service).toBe('billing');
    expect(after.provider).toEqual(before.provider);
    expect(f.server.mintCount()).toBe(2);
    logs.assertNoneContain(f.secretValues());
  });

  it('over four rotations revokes only the key two generations old, never AWSCURRENT or AWSPREVIOUS', async () => {
    const f = await fixture();
    const generations = [f.secret('AWSCURRENT')?.keyId as string];
    for (let i = 0; i < 4; i++) {
      await f.rotate();
      generations.push(f.secret('AWSCURRENT')?.keyId as string);
      const n = generations.length - 1;
      // Exactly the two newest generations are live, and they are the labelled ones.
      expect(liveIds(f)).toEqual([generations[n], generations[n - 1]].sort());
      expect(liveIds(f)).toEqual(labelledIds(f));
      for (const old of generations.slice(0, Math.max(0, n - 1))) {
        expect(f.server.keys.get(old)?.revoked).toBe(true);
      }
    }
    // Each finishSecret revoked one key, oldest first.
    const revokes = f.server.calls.filter((c) => c.call === 'revoke' && c.status === 204);
    expect(revokes).toHaveLength(3);
    logs.assertNoneContain(f.secretValues());
  });

  it('no key value, admin token or rotation token appears in any log line', async () => {
    const f = await fixture();
    await f.rotate();
    await f.rotate();
    expect(logs.lines.length).toBeGreaterThan(10);
    logs.assertNoneContain(f.secretValues());
    // Key ids are not secret and make the logs useful.
    const current = f.secret('AWSCURRENT')?.keyId as string;
    expect(logs.lines.some((line) => line.includes(current))).toBe(true);
  });
});

describe('provider-issued API keys: idempotent minting', () => {
  it('a createSecret retried after the provider minted but failed to answer reuses that key (Idempotency-Key)', async () => {
    const f = await fixture();
    const token = f.sm.startRotation();
    f.server.failNext('mint', 'commit-then-5xx');

    await expect(f.run('createSecret', token)).rejects.toThrow(/mint/);
    expect(f.server.mintCount()).toBe(2);
    await f.run('createSecret', token);

    expect(f.server.mintCount()).toBe(2);
    for (const step of STEPS.slice(1)) await f.run(step, token);
    expect(liveIds(f)).toEqual(labelledIds(f));
    expect(f.server.authenticates(f.secret('AWSCURRENT')?.apiKey as string)).toBe(true);
  });

  it('a createSecret retried after PutSecretValue failed does not mint a second key', async () => {
    const f = await fixture();
    const token = f.sm.startRotation();
    f.sm.injectFailure(
      'PutSecretValue',
      Object.assign(new Error('denied'), { name: 'AccessDeniedException' }),
    );

    await expect(f.run('createSecret', token)).rejects.toThrow(/PutSecretValue/);
    for (const step of STEPS) await f.run(step, token);

    expect(f.server.mintCount()).toBe(2);
    expect(liveIds(f)).toEqual(labelledIds(f));
  });

  it('without provider idempotency, the unrecoverable key of a failed attempt is found by label and revoked', async () => {
    const f = await fixture({ server: { honourIdempotency: false } });
    const token = f.sm.startRotation();
    f.server.failNext('mint', 'commit-then-5xx');

    await expect(f.run('createSecret', token)).rejects.toThrow(/mint/);
    const orphan = f.server.liveKeys().find((k) => k.label === `rotator-${token}`);
    expect(orphan).toBeDefined();
    for (const step of STEPS) await f.run(step, token);

    expect(f.server.keys.get(orphan?.id ?? '')?.revoked).toBe(true);
    expect(liveIds(f)).toEqual(labelledIds(f));
    logs.assertNoneContain(f.secretValues());
  });

  it('when the provider lists key values, the key of a failed attempt is reused, not re-minted', async () => {
    const f = await fixture({ server: { honourIdempotency: false, listIncludesKeys: true } });
    const token = f.sm.startRotation();
    f.server.failNext('mint', 'commit-then-5xx');

    await expect(f.run('createSecret', token)).rejects.toThrow(/mint/);
    for (const step of STEPS) await f.run(step, token);

    expect(f.server.mintCount()).toBe(2);
    expect(liveIds(f)).toEqual(labelledIds(f));
  });
});

describe('provider-issued API keys: a provider failure at any step leaves no orphan and a retry completes', () => {
  const cases: Array<[RotationStep, ProviderServerCall, ProviderServerFault]> = [
    ['createSecret', 'list', '5xx'],
    ['createSecret', 'list', 'timeout'],
    ['createSecret', 'mint', '5xx'],
    ['createSecret', 'mint', 'timeout'],
    ['createSecret', 'mint', 'commit-then-5xx'],
    ['testSecret', 'test', '5xx'],
    ['testSecret', 'test', 'timeout'],
    ['finishSecret', 'revoke', '5xx'],
    ['finishSecret', 'revoke', 'timeout'],
    ['finishSecret', 'revoke', 'commit-then-5xx'],
  ];

  it.each(cases)('%s with %s failing (%s)', async (failingStep, call, fault) => {
    const f = await fixture({ declaration: { timeoutMs: 300 } });
    // A first rotation, so finishSecret has a key two generations old to revoke.
    await f.rotate();
    const token = f.sm.startRotation();
    f.server.failNext(call, fault);

    let failed = false;
    for (const step of STEPS) {
      try {
        await f.run(step, token);
      } catch (error) {
        expect(step).toBe(failingStep);
        expect(String((error as Error).message)).toMatch(new RegExp(`"${call}"`));
        failed = true;
        break;
      }
    }
    expect(failed).toBe(true);
    // Secrets Manager retries the whole rotation with the same token.
    for (const step of STEPS) await f.run(step, token);

    expect(f.sm.versionWith('AWSCURRENT')).toBe(token);
    expect(f.server.authenticates(f.secret('AWSCURRENT')?.apiKey as string)).toBe(true);
    expect(f.server.authenticates(f.secret('AWSPREVIOUS')?.apiKey as string)).toBe(true);
    expect(liveIds(f)).toEqual(labelledIds(f));
    expect(f.server.mintCount()).toBe(3);
    logs.assertNoneContain(f.secretValues());
  });
});

describe('provider-issued API keys: capabilities', () => {
  it('verify waits through the declared propagation delay', async () => {
    // The provider needs 0.3 s before a new key works; the declaration allows 3 s.
    const f = await fixture({
      server: { propagationDelayMs: 300 },
      declaration: { capabilities: { ...capabilities, propagationDelayMs: 3_000 } },
    });
    await f.rotate();
    const tests = f.server.calls.filter((c) => c.call === 'test');
    expect(tests.length).toBeGreaterThan(1);
    expect(tests.at(-1)?.status).toBe(200);
  });

  it('verify fails with a typed error when the key is not accepted within the declared delay', async () => {
    // The provider needs 5 s; the declaration promises 0.2 s.
    const f = await fixture({
      server: { propagationDelayMs: 5_000 },
      declaration: { capabilities: { ...capabilities, propagationDelayMs: 200 } },
    });
    const token = f.sm.startRotation();
    await f.run('createSecret', token);
    await f.run('setSecret', token);
    const error = await f.run('testSecret', token).catch((e: unknown) => e);
    expect((error as Error).name).toBe('ApiKeyRejectedError');
    expect(f.server.calls.filter((c) => c.call === 'test').length).toBeGreaterThan(1);
    expect(f.sm.versionWith('AWSCURRENT')).not.toBe(token);
  });

  it('two-slot mode (maxLiveKeys 2) frees the oldest slot before minting, so rotations never hit the limit', async () => {
    const f = await fixture({
      server: { maxLiveKeys: 2 },
    });
    const generations = [f.secret('AWSCURRENT')?.keyId as string];
    for (let i = 0; i < 3; i++) {
      await f.rotate();
      generations.push(f.secret('AWSCURRENT')?.keyId as string);
      expect(liveIds(f)).toEqual(labelledIds(f));
      expect(liveIds(f)).toHaveLength(2);
    }
    expect(f.server.calls.some((c) => c.call === 'mint' && c.status === 409)).toBe(false);
  });

  it('single-key mode (maxLiveKeys 1) warns loudly and leaves only the new key live after finishSecret', async () => {
    const f = await fixture({
      declaration: { capabilities: { ...capabilities, maxLiveKeys: 1 } },
    });
    const old = f.secret('AWSCURRENT')?.apiKey as string;
    await f.rotate();

    expect(f.server.authenticates(old)).toBe(false);
    expect(liveIds(f)).toEqual([f.secret('AWSCURRENT')?.keyId]);
    const warnings = logs.json().filter((l) => l.level === 'WARN');
    expect(warnings.some((l) => String(l.message).includes('SINGLE-KEY MODE'))).toBe(true);
  });

  it('a rotated admin credential is re-read when the provider refuses the cached one', async () => {
    const f = await fixture();
    await f.rotate();
    // The admin secret rotates: the provider now only accepts the new token.
    f.server.adminToken = randomBytes(24).toString('hex');
    await f.admin.client.send(
      new PutSecretValueCommand({
        SecretId: f.admin.arn,
        SecretString: JSON.stringify({ token: f.server.adminToken }),
      }),
    );
    await f.rotate();
    // The cached token was refused once, then the re-read one worked.
    expect(f.server.calls.some((c) => c.call !== 'test' && c.status === 401)).toBe(true);
    expect(liveIds(f)).toEqual(labelledIds(f));
    logs.assertNoneContain(f.secretValues());
  });
});

const reconcileOptions = (f: ProviderRotationFixture) => ({
  secretId: f.sm.arn,
  client: f.sm.client,
  adminClient: f.admin.client,
});

describe('reconcileApiKeys', () => {
  it('reports keys that are neither current nor previous, and current keys the provider lost', async () => {
    const f = await fixture();
    await f.rotate();
    await f.rotate();
    const stranded = f.server.seedKey(`rotator-${randomBytes(8).toString('hex')}`);
    f.server.seedKey('made-by-hand');

    const report = await reconcileApiKeys(reconcileOptions(f));

    expect(report.listed).toBe(true);
    expect(report.stranded).toEqual([stranded.id]);
    expect(report.healthy).toBe(false);
    expect(report.referenced.current).toBe(f.secret('AWSCURRENT')?.keyId);
    expect(report.keys.map((k) => k.status).sort()).toEqual(['current', 'previous', 'stranded']);
    expect(JSON.stringify(report)).not.toContain(stranded.key);
    expect(f.server.keys.get(stranded.id)?.revoked).toBe(false);
  });

  it('is healthy after clean rotations and flags a revoked AWSCURRENT key as missing', async () => {
    const f = await fixture();
    await f.rotate();
    const healthy = await reconcileApiKeys(reconcileOptions(f));
    expect(healthy.healthy).toBe(true);
    expect(healthy.stranded).toEqual([]);

    const currentId = f.secret('AWSCURRENT')?.keyId as string;
    const record = f.server.keys.get(currentId);
    if (record) record.revoked = true;
    const broken = await reconcileApiKeys(reconcileOptions(f));
    expect(broken.missing).toEqual([{ stage: 'AWSCURRENT', keyId: currentId }]);
    expect(broken.healthy).toBe(false);
  });

  it('reports the key a failed finishSecret clean-up left live, whatever its label', async () => {
    const f = await fixture();
    const first = f.secret('AWSCURRENT')?.keyId as string;
    await f.rotate();
    // The second rotation's finishSecret should revoke the first key, but the provider is down
    // for good: the rotation is promoted and the clean-up fails.
    f.server.failNext('revoke', '5xx', 10);
    const token = f.sm.startRotation();
    for (const step of STEPS.slice(0, 3)) await f.run(step, token);
    await expect(f.run('finishSecret', token)).rejects.toThrow(/"revoke"/);
    expect(f.sm.versionWith('AWSCURRENT')).toBe(token);

    const report = await reconcileApiKeys(reconcileOptions(f));

    expect(f.server.keys.get(first)?.label).toBe('initial');
    expect(report.stranded).toEqual([first]);
    expect(report.healthy).toBe(false);
  });

  it('flags keys older than the age policy', async () => {
    const f = await fixture();
    await f.rotate();
    const later = new Date(Date.now() + 40 * 86_400_000);
    const report = await reconcileApiKeys({
      ...reconcileOptions(f),
      maxKeyAgeDays: 30,
      now: () => later,
    });
    expect(report.tooOld.sort()).toEqual(labelledIds(f));
    expect(report.healthy).toBe(false);
  });
});
