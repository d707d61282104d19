import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The calls a test can make fail. */
export type ProviderServerCall = 'mint' | 'list' | 'revoke' | 'test';

/**
 * How a call fails: `5xx` answers 503 without doing anything; `timeout` never answers;
 * `commit-then-5xx` does the work (mints, revokes) and then answers 500, the nastiest case
 * for idempotency.
 */
export type ProviderServerFault = '5xx' | 'timeout' | 'commit-then-5xx';

/** A key the server holds. */
export interface ServerKey {
  id: string;
  key: string;
  label: string;
  createdAt: string;
  /** Epoch ms from which the key authenticates (propagation delay). */
  activeFrom: number;
  revoked: boolean;
}

/** Options for {@link startApiKeyProviderServer}. */
export interface ApiKeyProviderServerOptions {
  /** Honour the `Idempotency-Key` header on mint (replay the first answer). Default true. */
  honourIdempotency?: boolean;
  /** Refuse (409) a mint that would exceed this many live keys. */
  maxLiveKeys?: number;
  /** New keys authenticate only this long after minting. Default 0. */
  propagationDelayMs?: number;
  /** List key values too (some providers do). Default false. */
  listIncludesKeys?: boolean;
}

/** A running provider on loopback. */
export interface ApiKeyProviderServer {
  /** Base URL, e.g. `http://127.0.0.1:54321/v1`. */
  readonly baseUrl: string;
  /** The admin bearer token the server accepts (random per server). */
  adminToken: string;
  /** Every key ever minted, by id. */
  readonly keys: Map<string, ServerKey>;
  /** Number of keys minted (idempotent replays not counted). */
  readonly mintCount: () => number;
  /** Log of calls: name and answered status (`0` for a call that was never answered). */
  readonly calls: Array<{ call: ProviderServerCall; status: number }>;
  /** Keys not revoked. */
  liveKeys(): ServerKey[];
  /** Whether `key` authenticates right now. */
  authenticates(key: string): boolean;
  /** Makes the next `times` calls of `call` fail with `fault`. */
  failNext(call: ProviderServerCall, fault: ProviderServerFault, times?: number): void;
  /** Mints a key directly (test set-up, e.g. the first generation or a stranded key). */
  seedKey(label: string): ServerKey;
  /** A provider declaration for the secret's `provider` field, pointing at this server. */
  declaration(adminSecretId: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * Starts a small API-key provider on 127.0.0.1 (port 0): admin-authenticated mint (with
 * `Idempotency-Key`), list and revoke under `/v1/keys`, and `GET /v1/whoami` authenticated by
 * an API key. Tests drive failures with {@link ApiKeyProviderServer.failNext}.
 */
export async function startApiKeyProviderServer(
  options: ApiKeyProviderServerOptions = {},
): Promise<ApiKeyProviderServer> {
  const keys = new Map<string, ServerKey>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const faults: Array<{ call: ProviderServerCall; fault: ProviderServerFault; remaining: number }> =
    [];
  const calls: Array<{ call: ProviderServerCall; status: number }> = [];
  let minted = 0;
  let adminToken = randomBytes(24).toString('hex');
  let nextId = 1;

  const live = () => [...keys.values()].filter((k) => !k.revoked);
  const mintKey = (label: string): ServerKey => {
    minted += 1;
    const record: ServerKey = {
      id: `key_${nextId++}_${randomBytes(3).toString('hex')}`,
      key: `pk_test_${randomBytes(24).toString('base64url')}`,
      label,
      createdAt: new Date().toISOString(),
      activeFrom: Date.now() + (options.propagationDelayMs ?? 0),
      revoked: false,
    };
    keys.set(record.id, record);
    return record;
  };

  const takeFault = (call: ProviderServerCall): ProviderServerFault | undefined => {
    const fault = faults.find((f) => f.call === call && f.remaining > 0);
    if (!fault) return undefined;
    fault.remaining -= 1;
    return fault.fault;
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const keyMatch = /^\/v1\/keys\/([^/]+)$/.exec(url.pathname);
    const call: ProviderServerCall | undefined =
      url.pathname === '/v1/keys' && method === 'POST'
        ? 'mint'
        : url.pathname === '/v1/keys' && method === 'GET'
          ? 'list'
          : keyMatch && method === 'DELETE'
            ? 'revoke'
            : url.pathname === '/v1/whoami' && method === 'GET'
              ? 'test'
              : undefined;
    if (!call) return json(res, 404, { error: 'not found' });
    const answer = (status: number, body?: unknown) => {
      calls.push({ call, status });
      json(res, status, body);
    };
    const fault = takeFault(call);
    if (fault === 'timeout') {
      calls.push({ call, status: 0 });
      return; // Never answered; the client's timeout or abort ends it.
    }
    if (fault === '5xx') return answer(503, { error: 'unavailable' });
    const authorization = req.headers.authorization ?? '';

    if (call === 'test') {
      const presented = authorization.replace(/^Bearer /, '');
      const record = live().find((k) => k.key === presented && Date.now() >= k.activeFrom);
      if (fault === 'commit-then-5xx') return answer(500, { error: 'oops' });
      return record
        ? answer(200, { data: { id: record.id } })
        : answer(401, { error: 'invalid key' });
    }
    if (authorization !== `Bearer ${adminToken}`) return answer(401, { error: 'admin auth' });

    if (call === 'mint') {
      const body = (await readBody(req)) as { label?: unknown } | undefined;
      const idempotencyKey = req.headers['idempotency-key'];
      const honour = options.honourIdempotency ?? true;
      if (honour && typeof idempotencyKey === 'string') {
        const replay = idempotent.get(idempotencyKey);
        if (replay) return answer(replay.status, replay.body);
      }
      if (options.maxLiveKeys !== undefined && live().length >= options.maxLiveKeys) {
        return answer(409, { error: 'too many keys' });
      }
      const record = mintKey(typeof body?.label === 'string' ? body.label : '');
      const response = {
        data: { id: record.id, key: record.key, label: record.label, createdAt: record.createdAt },
      };
      if (honour && typeof idempotencyKey === 'string') {
        idempotent.set(idempotencyKey, { status: 201, body: response });
      }
      if (fault === 'commit-then-5xx') return answer(500, { error: 'oops' });
      return answer(201, response);
    }
    if (call === 'list') {
      const data = live().map((k) => ({
        id: k.id,
        label: k.label,
        createdAt: k.createdAt,
        ...(options.listIncludesKeys ? { key: k.key } : {}),
      }));
      if (fault === 'commit-then-5xx') return answer(500, { error: 'oops' });
      return answer(200, { data });
    }
    // revoke
    const record = keys.get(decodeURIComponent(keyMatch?.[1] ?? ''));
    if (!record || record.revoked) return answer(404, { error: 'no such key' });
    record.revoked = true;
    if (fault === 'commit-then-5xx') return answer(500, { error: 'oops' });
    return answer(204);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/v1`;

  return {
    baseUrl,
    get adminToken() {
      return adminToken;
    },
    set adminToken(value: string) {
      adminToken = value;
    },
    keys,
    mintCount: () => minted,
    calls,
    liveKeys: live,
    authenticates: (key) => live().some((k) => k.key === key && Date.now() >= k.activeFrom),
    failNext(call, fault, times = 1) {
      faults.push({ call, fault, remaining: times });
    },
    seedKey: mintKey,
    declaration(adminSecretId, overrides = {}) {
      return {
        type: 'http',
        baseUrl,
        timeoutMs: 1_000,
        retries: 0,
        admin: { secretId: adminSecretId, field: 'token' },
        capabilities: {
          maxLiveKeys: options.maxLiveKeys ?? 3,
          canList: true,
          idempotentMint: options.honourIdempotency ?? true,
          propagationDelayMs: options.propagationDelayMs ?? 0,
        },
        mint: { path: '/keys', body: { label: '{label}' }, keyPath: 'data.key', idPath: 'data.id' },
        test: { path: '/whoami', idPath: 'data.id' },
        revoke: { path: '/keys/{id}' },
        list: {
          path: '/keys',
          itemsPath: 'data',
          idPath: 'id',
          labelPath: 'label',
          createdAtPath: 'createdAt',
          ...(options.listIncludesKeys ? { keyPath: 'key' } : {}),
        },
        ...overrides,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A provider-issued API key secret for a new key of `server`, its admin token at `adminArn`. */
export function providerKeySecret(server: ApiKeyProviderServer, adminArn: string): string {
  const first = server.seedKey('initial');
  return JSON.stringify({
    apiKey: first.key,
    keyId: first.id,
    provider: server.declaration(adminArn),
  });
}
