import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { GenerateRequest, PendingRequest } from '../../shared/engine/types.js';
import { StepTimeoutError } from '../../shared/errors.js';
import { createRotationLogger } from '../../shared/logging/logger.js';
import { SecretRegistry } from '../../shared/logging/redaction.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import { ProviderCallError, UnsafeRevocationError } from '../../shared/strategies/apikey/errors.js';
import type {
  KeyProvider,
  ListedKey,
  ProviderCapabilities,
} from '../../shared/strategies/apikey/KeyProvider.js';
import {
  labelForToken,
  overlapModeFor,
} from '../../shared/strategies/apikey/ProviderKeyStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';

const logs = captureLogs();

/** An in-process KeyProvider that records what it was asked to do. */
class FakeProvider implements KeyProvider {
  readonly minted: Array<{ label: string; idempotencyKey: string }> = [];
  readonly revoked: string[] = [];
  testAnswer: 'valid' | 'rejected' = 'valid';
  tests = 0;
  /** The first this-many tests fail as a provider outage (503). */
  failingTests = 0;
  listed: ListedKey[] = [];
  constructor(readonly capabilities: ProviderCapabilities) {}
  async mint(request: { label: string; idempotencyKey: string }) {
    this.minted.push({ label: request.label, idempotencyKey: request.idempotencyKey });
    return { id: `id-${this.minted.length}`, key: randomBytes(20).toString('hex') };
  }
  async test() {
    this.tests += 1;
    if (this.tests <= this.failingTests) {
      throw new ProviderCallError('test', 'unexpected HTTP status 503', {
        status: 503,
        retryable: true,
      });
    }
    return this.testAnswer;
  }
  async revoke(request: { id: string }) {
    this.revoked.push(request.id);
    return 'revoked' as const;
  }
  get list() {
    return this.capabilities.canList ? async () => this.listed : undefined;
  }
}

const caps = (overrides: Partial<ProviderCapabilities> = {}): ProviderCapabilities => ({
  canList: false,
  idempotentMint: true,
  keysExpire: false,
  propagationDelayMs: 0,
  ...overrides,
});

function strategyWith(provider: FakeProvider) {
  return new ApiKeyStrategy({
    env: {},
    providers: { fake: () => provider },
    verifyPollMs: 10,
  });
}

function request(
  values: { current?: object; pending?: object },
  signal = new AbortController().signal,
): GenerateRequest & PendingRequest {
  const registry = new SecretRegistry();
  return {
    secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k',
    token: randomUUID(),
    step: 'createSecret',
    logger: createRotationLogger({ serviceName: 'apikey-test', registry }),
    signal,
    current: async () => JSON.stringify(values.current ?? values.pending),
    previous: async () => undefined,
    pending: async () => JSON.stringify(values.pending ?? values.current),
    registerSecret: (value) => registry.register(value),
    generatePassword: async () => randomBytes(16).toString('hex'),
  };
}

const key = () => randomBytes(20).toString('hex');

describe('overlap mode from capabilities', () => {
  it.each([
    [undefined, 'overlap'],
    [5, 'overlap'],
    [3, 'overlap'],
    [2, 'two-slot'],
    [1, 'single-key'],
  ] as const)('maxLiveKeys %s → %s', (maxLiveKeys, mode) => {
    expect(overlapModeFor(caps(maxLiveKeys === undefined ? {} : { maxLiveKeys }))).toBe(mode);
  });
});

describe('ApiKeyStrategy with a provider', () => {
  it('mints under the rotation token (idempotency key and label) and chains the key ids', async () => {
    const provider = new FakeProvider(caps());
    const req = request({
      current: { apiKey: key(), keyId: 'k2', previousKeyId: 'k1', provider: { type: 'fake' } },
    });

    const pending = JSON.parse(await strategyWith(provider).generatePending(req));

    expect(provider.minted).toEqual([
      { label: labelForToken(req.token), idempotencyKey: req.token },
    ]);
    expect(pending).toMatchObject({
      keyId: 'id-1',
      previousKeyId: 'k2',
      retiringKeyId: 'k1',
      keyLabel: `rotator-${req.token}`,
    });
    expect(provider.revoked).toEqual([]);
  });

  it('finishSecret in overlap mode revokes only the key two generations old', async () => {
    const provider = new FakeProvider(caps({ maxLiveKeys: 5 }));
    const promoted = {
      apiKey: key(),
      keyId: 'k3',
      previousKeyId: 'k2',
      retiringKeyId: 'k1',
      provider: { type: 'fake' },
    };
    await strategyWith(provider).afterPromotion(request({ pending: promoted }));
    expect(provider.revoked).toEqual(['k1']);
  });

  it('refuses to revoke a key that is AWSCURRENT or AWSPREVIOUS, whatever the secret says', async () => {
    const provider = new FakeProvider(caps());
    for (const retiringKeyId of ['k3', 'k2']) {
      const promoted = {
        apiKey: key(),
        keyId: 'k3',
        previousKeyId: 'k2',
        retiringKeyId,
        provider: { type: 'fake' },
      };
      await expect(
        strategyWith(provider).afterPromotion(request({ pending: promoted })),
      ).rejects.toBeInstanceOf(UnsafeRevocationError);
    }
    expect(provider.revoked).toEqual([]);
  });

  it('never revokes the key the labelled AWSPREVIOUS version holds, even if the id fields say so', async () => {
    const provider = new FakeProvider(caps());
    // A hand-edited chain: retiringKeyId names the key AWSPREVIOUS actually holds.
    const promoted = {
      apiKey: key(),
      keyId: 'k3',
      previousKeyId: 'k2',
      retiringKeyId: 'k-real-prev',
      provider: { type: 'fake' },
    };
    const req = request({ pending: promoted });
    const previous = JSON.stringify({
      apiKey: key(),
      keyId: 'k-real-prev',
      provider: { type: 'fake' },
    });
    await expect(
      strategyWith(provider).afterPromotion({ ...req, previous: async () => previous }),
    ).rejects.toBeInstanceOf(UnsafeRevocationError);
    expect(provider.revoked).toEqual([]);
  });

  it('single-key mode revokes the previous key at finishSecret and warns when it cannot', async () => {
    const provider = new FakeProvider(caps({ maxLiveKeys: 1 }));
    const strategy = strategyWith(provider);
    await strategy.afterPromotion(
      request({
        pending: { apiKey: key(), keyId: 'k3', previousKeyId: 'k2', provider: { type: 'fake' } },
      }),
    );
    expect(provider.revoked).toEqual(['k2']);

    await strategy.afterPromotion(
      request({ pending: { apiKey: key(), keyId: 'k9', provider: { type: 'fake' } } }),
    );
    expect(provider.revoked).toEqual(['k2']);
    expect(
      logs
        .json()
        .some((l) => l.level === 'WARN' && String(l.message).includes('revoke it by hand')),
    ).toBe(true);
  });

  it('two-slot mode revokes the AWSPREVIOUS key before minting, never the AWSCURRENT one', async () => {
    const provider = new FakeProvider(caps({ maxLiveKeys: 2 }));
    await strategyWith(provider).generatePending(
      request({
        current: { apiKey: key(), keyId: 'k2', previousKeyId: 'k1', provider: { type: 'fake' } },
      }),
    );
    expect(provider.revoked).toEqual(['k1']);
    expect(provider.minted).toHaveLength(1);
  });

  it('verify gives up with a typed error as soon as the step signal aborts', async () => {
    const provider = new FakeProvider(caps({ propagationDelayMs: 60_000 }));
    provider.testAnswer = 'rejected';
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await strategyWith(provider)
      .verify(
        request(
          { pending: { apiKey: key(), keyId: 'k1', provider: { type: 'fake' } } },
          controller.signal,
        ),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(provider.tests).toBeGreaterThan(1);
  });

  it('verify rides out a provider outage within the propagation window, and reports it after', async () => {
    const pending = { apiKey: key(), keyId: 'k1', provider: { type: 'fake' } };
    const patient = new FakeProvider(caps({ propagationDelayMs: 2_000 }));
    patient.failingTests = 2;
    await strategyWith(patient).verify(request({ pending }));
    expect(patient.tests).toBe(3);

    const impatient = new FakeProvider(caps({ propagationDelayMs: 0 }));
    impatient.failingTests = 1;
    await expect(strategyWith(impatient).verify(request({ pending }))).rejects.toBeInstanceOf(
      ProviderCallError,
    );
  });

  it('a key of this rotation found by listing with its value is reused instead of minted', async () => {
    const provider = new FakeProvider(caps({ canList: true, idempotentMint: false }));
    const req = request({ current: { apiKey: key(), keyId: 'k1', provider: { type: 'fake' } } });
    const found = key();
    provider.listed = [
      { id: 'k-found', label: labelForToken(req.token), key: found },
      { id: 'k1', label: 'x' },
    ];

    const pending = JSON.parse(await strategyWith(provider).generatePending(req));

    expect(pending.apiKey).toBe(found);
    expect(pending.keyId).toBe('k-found');
    expect(provider.minted).toEqual([]);
  });
});
