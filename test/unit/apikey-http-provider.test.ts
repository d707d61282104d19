import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretFormatError } from '../../shared/errors.js';
import { ProviderCallError, ProviderResponseError } from '../../shared/strategies/apikey/errors.js';
import { HttpKeyProvider } from '../../shared/strategies/apikey/HttpKeyProvider.js';
import {
  type HttpProviderConfig,
  parseHttpProviderConfig,
} from '../../shared/strategies/apikey/httpDeclaration.js';

/** The admin credential the fake provider is handed; random per run. */
const ADMIN_CREDENTIAL = randomBytes(24).toString('base64url');

const declaration = (overrides: Record<string, unknown> = {}) => ({
  type: 'http',
  baseUrl: 'https://keys.example.com/v2',
  admin: { secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin', field: 'token' },
  capabilities: { maxLiveKeys: 3, canList: true, idempotentMint: true, propagationDelayMs: 500 },
  mint: {
    path: '/keys',
    body: { label: '{label}', note: 'rotation {token}' },
    keyPath: 'data.key',
    idPath: 'data.id',
  },
  test: { path: '/whoami', idPath: 'data.id' },
  revoke: { path: '/keys/{id}' },
  list: { path: '/keys', itemsPath: 'data', labelPath: 'label' },
  ...overrides,
});

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A fetch that records requests and answers from `reply`. */
function fakeFetch(reply: (seen: Seen) => { status: number; body?: unknown } | Promise<never>) {
  const seen: Seen[] = [];
  const impl = (async (input: string | URL | Request, init?: RequestInit) => {
    const request: Seen = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(
        Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [
          k.toLowerCase(),
          v,
        ]),
      ),
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    seen.push(request);
    const answer = await reply(request);
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
    });
  }) as typeof fetch;
  return { seen, impl };
}

function provider(
  config: HttpProviderConfig,
  fetchImpl: typeof fetch,
  credential = ADMIN_CREDENTIAL,
) {
  const loads: boolean[] = [];
  const p = new HttpKeyProvider({
    config,
    fetch: fetchImpl,
    adminCredential: async ({ forceFetch }) => {
      loads.push(forceFetch);
      return credential;
    },
  });
  return { p, loads };
}

const signal = () => new AbortController().signal;

describe('HTTP provider declaration', () => {
  it('parses a full declaration with defaults', () => {
    const config = parseHttpProviderConfig(declaration());
    expect(config.baseUrl).toBe('https://keys.example.com/v2');
    expect(config.mint).toMatchObject({ method: 'POST', idempotencyHeader: 'Idempotency-Key' });
    expect(config.revoke.method).toBe('DELETE');
    expect(config.admin).toMatchObject({
      header: 'Authorization',
      scheme: 'Bearer',
      field: 'token',
    });
    expect(config.list).toMatchObject({ idPath: 'id', itemsPath: 'data' });
    expect(config.capabilities).toEqual({
      maxLiveKeys: 3,
      canList: true,
      idempotentMint: true,
      keysExpire: false,
      propagationDelayMs: 500,
    });
  });

  it.each([
    ['provider.baseUrl', { baseUrl: 'http://keys.example.com' }],
    ['provider.baseUrl', { baseUrl: 'https://user:pw@keys.example.com' }],
    ['provider.baseUrl', { baseUrl: 'not a url' }],
    ['provider.type', { type: 'grpc' }],
    ['provider.admin', { admin: undefined }],
    ['provider.admin.secretId', { admin: {} }],
    ['provider.mint.keyPath', { mint: { path: '/keys', idPath: 'id' } }],
    ['provider.mint.idPath', { mint: { path: '/keys', keyPath: 'key', idPath: '$..id' } }],
    [
      'provider.mint.path',
      { mint: { path: 'https://evil.example/keys', keyPath: 'key', idPath: 'id' } },
    ],
    ['provider.revoke.method', { revoke: { path: '/k/{id}', method: 'TRACE' } }],
    ['provider.list', { list: undefined }],
    ['provider.capabilities.maxLiveKeys', { capabilities: { maxLiveKeys: 0, canList: false } }],
    ['provider.timeoutMs', { timeoutMs: 10 }],
    ['provider.mint.body', { mint: { path: '/keys', keyPath: 'key', idPath: 'id' } }],
  ])('names %s when it is wrong', (field, overrides) => {
    let error: unknown;
    try {
      parseHttpProviderConfig(declaration(overrides));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as SecretFormatError).field).toBe(field);
  });

  it('accepts plain http only on loopback, and enforces the host allow-list', () => {
    expect(parseHttpProviderConfig(declaration({ baseUrl: 'http://127.0.0.1:8080' })).baseUrl).toBe(
      'http://127.0.0.1:8080',
    );
    expect(() => parseHttpProviderConfig(declaration(), ['api.other.com'])).toThrow(
      /ALLOWED_HOSTS/,
    );
    expect(() => parseHttpProviderConfig(declaration(), ['keys.example.com'])).not.toThrow();
  });
});

describe('HttpKeyProvider calls', () => {
  it('mints with the admin credential, the idempotency key and the label, and reads the paths', async () => {
    const key = randomBytes(16).toString('hex');
    const { seen, impl } = fakeFetch(() => ({ status: 201, body: { data: { key, id: 42 } } }));
    const { p } = provider(parseHttpProviderConfig(declaration()), impl);
    const token = 'a1b2c3d4-0000-4000-8000-000000000001';

    const minted = await p.mint({
      label: `rotator-${token}`,
      idempotencyKey: token,
      signal: signal(),
    });

    expect(minted).toEqual({ id: '42', key });
    expect(seen[0]?.url).toBe('https://keys.example.com/v2/keys');
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${ADMIN_CREDENTIAL}`);
    expect(seen[0]?.headers['idempotency-key']).toBe(token);
    expect(JSON.parse(seen[0]?.body ?? '{}')).toEqual({
      label: `rotator-${token}`,
      note: `rotation ${token}`,
    });
  });

  it('URL-encodes ids in paths and treats 404 on revoke as already revoked', async () => {
    const { seen, impl } = fakeFetch(() => ({ status: 404 }));
    const { p } = provider(parseHttpProviderConfig(declaration()), impl);
    expect(await p.revoke({ id: 'a/b c', signal: signal() })).toBe('absent');
    expect(seen[0]?.url).toBe('https://keys.example.com/v2/keys/a%2Fb%20c');
    expect(seen[0]?.method).toBe('DELETE');
  });

  it('tests a key with the key itself, never the admin credential; 401 is "rejected", not an error', async () => {
    const key = randomBytes(16).toString('hex');
    const { seen, impl } = fakeFetch((req) =>
      req.headers.authorization === `Bearer ${key}`
        ? { status: 200, body: { data: { id: 'k1' } } }
        : { status: 401 },
    );
    const { p, loads } = provider(parseHttpProviderConfig(declaration()), impl);
    expect(await p.test({ key, expectedId: 'k1', signal: signal() })).toBe('valid');
    expect(await p.test({ key, expectedId: 'k2', signal: signal() })).toBe('rejected');
    expect(await p.test({ key: randomBytes(16).toString('hex'), signal: signal() })).toBe(
      'rejected',
    );
    expect(loads).toEqual([]);
    expect(seen.every((s) => s.headers.authorization !== `Bearer ${ADMIN_CREDENTIAL}`)).toBe(true);
  });

  it('re-reads the admin credential once (forceFetch) when the provider refuses it', async () => {
    const { impl } = fakeFetch(() => ({ status: 401 }));
    const { p, loads } = provider(parseHttpProviderConfig(declaration()), impl);
    const error = await p.revoke({ id: 'k1', signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderCallError);
    expect((error as ProviderCallError).status).toBe(401);
    expect(loads).toEqual([false, true]);
  });

  it('retries 5xx on repeatable calls, never on a mint the provider does not de-duplicate', async () => {
    const { seen, impl } = fakeFetch(() => ({ status: 503 }));
    const config = parseHttpProviderConfig(declaration({ retries: 2 }));
    await expect(provider(config, impl).p.revoke({ id: 'k', signal: signal() })).rejects.toThrow(
      /503/,
    );
    expect(seen).toHaveLength(3);

    const nonIdempotent = parseHttpProviderConfig(
      declaration({ retries: 2, capabilities: { canList: true, idempotentMint: false } }),
    );
    seen.length = 0;
    await expect(
      provider(nonIdempotent, impl).p.mint({ label: 'l', idempotencyKey: 't', signal: signal() }),
    ).rejects.toThrow(/"mint"/);
    expect(seen).toHaveLength(1);
  });

  it('times out a hung call with a typed, retryable error', async () => {
    const hang = ((_input: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      })) as typeof fetch;
    const config = parseHttpProviderConfig(declaration({ timeoutMs: 100, retries: 0 }));
    const error = await provider(config, hang)
      .p.list?.({ signal: signal() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderCallError);
    expect((error as ProviderCallError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/no answer within 100 ms/);
  });

  it('stops at once when the step signal aborts', async () => {
    const controller = new AbortController();
    const hang = ((_input: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      })) as typeof fetch;
    const config = parseHttpProviderConfig(declaration({ timeoutMs: 60_000, retries: 3 }));
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const error = await provider(config, hang)
      .p.revoke({ id: 'k', signal: controller.signal })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/aborted/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('names the response path, never the body, when the answer has the wrong shape', async () => {
    const leaked = randomBytes(16).toString('hex');
    const { impl } = fakeFetch(() => ({ status: 201, body: { data: { secret: leaked } } }));
    const error = await provider(parseHttpProviderConfig(declaration()), impl)
      .p.mint({ label: 'l', idempotencyKey: 't', signal: signal() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderResponseError);
    expect((error as Error).message).toContain('data.key');
    expect((error as Error).message).not.toContain(leaked);
  });

  it('refuses an oversized answer without reading it all', async () => {
    const { impl } = fakeFetch(() => ({
      status: 200,
      body: { data: [], pad: 'x'.repeat(2_000_000) },
    }));
    const error = await provider(parseHttpProviderConfig(declaration()), impl)
      .p.list?.({ signal: signal() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderCallError);
    expect((error as Error).message).toMatch(/larger than/);
  });

  it('lists keys with ids, labels and (when declared) values', async () => {
    const { impl } = fakeFetch(() => ({
      status: 200,
      body: { data: [{ id: 1, label: 'rotator-x' }, { id: 'k2' }] },
    }));
    const keys = await provider(parseHttpProviderConfig(declaration()), impl).p.list?.({
      signal: signal(),
    });
    expect(keys).toEqual([{ id: '1', label: 'rotator-x' }, { id: 'k2' }]);
  });
});
