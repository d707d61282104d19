import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { RotationStep, RotationStrategy } from '../../shared/engine/types.js';
import type { CredentialKind } from '../../shared/kinds/CredentialKind.js';
import { isSensitiveKey } from '../../shared/logging/redaction.js';
import { captureLogs } from './captureLogs.js';
import { InMemorySecretsManager, lambdaContext, rotationEvent } from './inMemorySecretsManager.js';

/** What a strategy's test file provides to be checked by {@link describeStrategyConformance}. */
export interface StrategyHarness {
  /** A fresh strategy for one test. */
  createStrategy(): RotationStrategy | Promise<RotationStrategy>;
  /** Creates the target state (a database user, a provider key…) and returns the first AWSCURRENT value. */
  seed(): Promise<string>;
  /** Whether the credential in this `SecretString` works against the target right now. */
  works(secretString: string): Promise<boolean>;
  /** A value shaped like `secretString` whose credential does not work (wrong password, unknown key). */
  corrupt(secretString: string): string;
  /** Handler environment (password policy, mode). */
  env?: NodeJS.ProcessEnv;
  /** Further secret values of the fixture (admin passwords) that must not be logged either. */
  extraSecrets?(): string[];
  /**
   * The kind module the strategy belongs to. With it the suite also checks the kind's
   * declared overlap against the real target, and that its login check (the operator CLI's)
   * agrees with `works` on the values a rotation produced.
   */
  kind?: CredentialKind;
  /**
   * Values the target derived from `secretString`'s credential and that the kind treats as
   * secret (a SCRAM verifier, a native password hash, a Redis SHA-256), read from the
   * target or computed; none may appear in a log line.
   */
  derivedSecrets?(secretString: string): Promise<string[]>;
}

const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/** Every string under a sensitive key, at any depth, of every JSON value given. */
function sensitiveLeaves(values: Iterable<string | undefined>): string[] {
  const out: string[] = [];
  const walk = (node: unknown, sensitive: boolean) => {
    if (typeof node === 'string') {
      if (sensitive && node.length >= 4) out.push(node);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, sensitive || isSensitiveKey(k));
    }
  };
  for (const value of values) {
    if (value === undefined) continue;
    try {
      walk(JSON.parse(value), false);
    } catch {
      out.push(value);
    }
  }
  return out;
}

/**
 * The contract every strategy must pass, run through the real engine against an in-memory
 * Secrets Manager: a full rotation works, every step survives a retry and a crash, verify
 * refuses a wrong credential, and no secret value reaches a log line.
 *
 * @example
 * ```ts
 * describeStrategyConformance('postgres single-user', { createStrategy, seed, works, corrupt });
 * ```
 */
export function describeStrategyConformance(name: string, harness: StrategyHarness): void {
  describe(`${name}: strategy conformance`, () => {
    const logs = captureLogs();

    async function setup() {
      const sm = new InMemorySecretsManager();
      sm.seedCurrent(await harness.seed());
      const handler = rotationHandler(await harness.createStrategy(), {
        client: sm.client,
        env: harness.env ?? {},
        cache: null,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      });
      const run = (step: RotationStep, token: string) =>
        handler(rotationEvent(step, sm.arn, token), lambdaContext());
      const assertNothingLeaked = () =>
        logs.assertNoneContain([
          ...sensitiveLeaves([...sm.versions.values()].map((v) => v.value)),
          ...(harness.extraSecrets?.() ?? []),
        ]);
      return { sm, run, assertNothingLeaked };
    }

    it('a full rotation leaves a working AWSCURRENT that differs from the old one', async () => {
      const { sm, run, assertNothingLeaked } = await setup();
      const before = sm.valueOf('AWSCURRENT') as string;
      const token = sm.startRotation();
      for (const step of STEPS) await run(step, token);
      const after = sm.valueOf('AWSCURRENT') as string;
      expect(sm.versionWith('AWSCURRENT')).toBe(token);
      expect(after).not.toBe(before);
      expect(await harness.works(after)).toBe(true);
      assertNothingLeaked();
    });

    it('every step run twice (a retry after success) still ends in a working rotation', async () => {
      const { sm, run, assertNothingLeaked } = await setup();
      const token = sm.startRotation();
      for (const step of STEPS) {
        await run(step, token);
        await run(step, token);
      }
      expect(sm.versionWith('AWSCURRENT')).toBe(token);
      expect(await harness.works(sm.valueOf('AWSCURRENT') as string)).toBe(true);
      assertNothingLeaked();
    });

    it('a crash after setSecret, then the whole rotation retried from createSecret, ends working', async () => {
      const { sm, run, assertNothingLeaked } = await setup();
      const token = sm.startRotation();
      await run('createSecret', token);
      await run('setSecret', token);
      // Secrets Manager retries the entire rotation with the same token.
      for (const step of STEPS) await run(step, token);
      expect(await harness.works(sm.valueOf('AWSCURRENT') as string)).toBe(true);
      assertNothingLeaked();
    });

    it('a failed PutSecretValue in createSecret is repaired by retrying the step', async () => {
      const { sm, run } = await setup();
      const token = sm.startRotation();
      sm.injectFailure(
        'PutSecretValue',
        Object.assign(new Error('boom'), { name: 'AccessDeniedException' }),
      );
      await expect(run('createSecret', token)).rejects.toThrow(/PutSecretValue/);
      for (const step of STEPS) await run(step, token);
      expect(await harness.works(sm.valueOf('AWSCURRENT') as string)).toBe(true);
    });

    it('testSecret refuses a pending value whose credential does not work, and names no value', async () => {
      const { sm, run, assertNothingLeaked } = await setup();
      const current = sm.valueOf('AWSCURRENT') as string;
      const token = sm.startRotation(randomUUID(), harness.corrupt(current));
      const error = await run('testSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      for (const leaf of sensitiveLeaves([sm.versions.get(token)?.value])) {
        expect(String((error as Error).message)).not.toContain(leaf);
      }
      expect(sm.versionWith('AWSCURRENT')).not.toBe(token);
      assertNothingLeaked();
    });

    const derivedSecrets = harness.derivedSecrets;
    if (derivedSecrets)
      it('no value derived from a credential (hash, verifier) reaches a log line', async () => {
        const { sm, run, assertNothingLeaked } = await setup();
        const token = sm.startRotation();
        for (const step of STEPS) await run(step, token);
        const derived = [
          ...(await derivedSecrets(sm.valueOf('AWSCURRENT') as string)),
          ...(await derivedSecrets(sm.valueOf('AWSPREVIOUS') as string)),
        ];
        expect(derived.length).toBeGreaterThan(0);
        logs.assertNoneContain(derived);
        assertNothingLeaked();
      });

    it('keeps the replaced credential working exactly as long as the kind declares', async () => {
      const kind = harness.kind;
      if (!kind) return;
      const { sm, run } = await setup();
      const first = sm.valueOf('AWSCURRENT') as string;
      const overlap = kind.overlap(JSON.parse(first) as Record<string, unknown>, harness.env ?? {});
      // A harness passes its kind only where a real target holds the credential.
      expect(overlap, 'overlap of a kind with a real target').not.toBe('not-checked');
      const token = sm.startRotation();
      await run('createSecret', token);
      await run('setSecret', token);
      // After setSecret only a kind without overlap has stopped the old credential.
      expect(await harness.works(first)).toBe(overlap !== 'none');
      await run('testSecret', token);
      await run('finishSecret', token);
      expect(sm.valueOf('AWSPREVIOUS')).toBe(first);
      expect(await harness.works(first)).toBe(overlap === 'until-next-rotation');
      if (overlap !== 'until-next-rotation') return;
      const next = sm.startRotation();
      for (const step of STEPS) await run(step, next);
      // Two generations old: the next rotation has ended its overlap.
      expect(await harness.works(first)).toBe(false);
      expect(await harness.works(sm.valueOf('AWSPREVIOUS') as string)).toBe(true);
    });

    const checkLogin = harness.kind?.checkLogin;
    if (checkLogin)
      it("the kind's login check (the operator CLI's) agrees with the target on every value", async () => {
        const { sm, run } = await setup();
        const token = sm.startRotation();
        for (const step of STEPS) await run(step, token);
        const current = sm.valueOf('AWSCURRENT') as string;
        const options = {
          env: harness.env ?? {},
          timeoutMs: 5_000,
          signal: AbortSignal.timeout(15_000),
        };
        for (const value of [
          current,
          sm.valueOf('AWSPREVIOUS') as string,
          harness.corrupt(current),
        ]) {
          const verdict = await checkLogin(value, options);
          expect(verdict.outcome).toBe((await harness.works(value)) ? 'accepted' : 'rejected');
        }
      });
  });
}
