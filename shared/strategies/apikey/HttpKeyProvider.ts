import { setTimeout as sleep } from 'node:timers/promises';
import { SecretFormatError } from '../../errors.js';
import { type ProviderCall, ProviderCallError, ProviderResponseError } from './errors.js';
import { isValidJsonPath, readJsonPath } from './jsonPath.js';
import type {
  KeyProvider,
  ListedKey,
  MintedKey,
  ProviderCallOptions,
  ProviderCapabilities,
} from './KeyProvider.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type HttpMethod = (typeof METHODS)[number];

/** Where the admin credential lives and how it is sent. */
export interface AdminCredentialConfig {
  /** ARN or name of the Secrets Manager secret holding the admin credential. */
  secretId: string;
  /** Field of that secret's JSON holding the credential; the whole `SecretString` when absent. */
  field?: string;
  /** Header carrying it; default `Authorization`. */
  header: string;
  /** Scheme before it (`Bearer`); empty for a bare header value. Default `Bearer`. */
  scheme: string;
}

/** One HTTP call of the declaration. `path` may hold `{id}`, `{label}`, `{token}` placeholders. */
export interface HttpCallConfig {
  method: HttpMethod;
  path: string;
  /** JSON body; string leaves may hold the same placeholders. */
  body?: unknown;
}

/** The declarative HTTP provider, as written in the secret's `provider` object. */
export interface HttpProviderConfig {
  type: 'http';
  /** Origin (and base path) of the provider API. `https:` unless the host is loopback. */
  baseUrl: string;
  /** Per-call timeout; default 5000. */
  timeoutMs: number;
  /** Extra attempts for calls that are safe to repeat (5xx, 429, timeouts); default 2. */
  retries: number;
  admin: AdminCredentialConfig;
  capabilities: ProviderCapabilities;
  mint: HttpCallConfig & {
    /** Header carrying the rotation token as idempotency key; default `Idempotency-Key`, `""` for none. */
    idempotencyHeader: string;
    keyPath: string;
    idPath: string;
    expiresAtPath?: string;
  };
  test: HttpCallConfig & {
    /** Header carrying the key under test; default `Authorization`. */
    header: string;
    /** Scheme before it; default `Bearer`. */
    scheme: string;
    /** Where the response names the authenticated key's id; checked against `keyId` when set. */
    idPath?: string;
  };
  revoke: HttpCallConfig;
  list?: HttpCallConfig & {
    itemsPath: string;
    idPath: string;
    labelPath?: string;
    createdAtPath?: string;
    keyPath?: string;
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

type Obj = Record<string, unknown>;
const isObject = (value: unknown): value is Obj =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Field readers that name the full path (`provider.mint.keyPath`) in their errors. */
class FieldReader {
  constructor(
    readonly source: Obj,
    readonly prefix: string,
  ) {}

  name(field: string): string {
    return `${this.prefix}.${field}`;
  }

  string(field: string, fallback?: string): string {
    const value = this.source[field];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || (value === '' && fallback === undefined)) {
      throw new SecretFormatError(this.name(field), 'must be a non-empty string');
    }
    return value;
  }

  optionalString(field: string): string | undefined {
    return this.source[field] === undefined ? undefined : this.string(field);
  }

  path(field: string, fallback?: string): string {
    const value = this.source[field] ?? fallback;
    if (!isValidJsonPath(value)) {
      throw new SecretFormatError(
        this.name(field),
        'must be a dotted JSON path such as "data.key"',
      );
    }
    return value;
  }

  optionalPath(field: string): string | undefined {
    return this.source[field] === undefined ? undefined : this.path(field);
  }

  integer(
    field: string,
    fallback: number | undefined,
    min: number,
    max: number,
  ): number | undefined {
    const value = this.source[field];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SecretFormatError(this.name(field), `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.source[field];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean')
      throw new SecretFormatError(this.name(field), 'must be true or false');
    return value;
  }

  object(field: string, required: boolean): FieldReader | undefined {
    const value = this.source[field];
    if (value === undefined && !required) return undefined;
    if (!isObject(value)) throw new SecretFormatError(this.name(field), 'must be an object');
    return new FieldReader(value, this.name(field));
  }
}

/**
 * The URL of a call: `baseUrl` followed by `path`, or `undefined` when that string does not
 * stay on `baseUrl`'s origin (`.evil.example/x` after `https://api.vendor.com` names the host
 * `api.vendor.com.evil.example`, and the admin credential would go there).
 */
function callUrl(baseUrl: string, path: string): string | undefined {
  const url = `${baseUrl}${path}`;
  try {
    return new URL(url).origin === new URL(baseUrl).origin ? url : undefined;
  } catch {
    return undefined;
  }
}

function parseCall(
  reader: FieldReader,
  defaults: { method: HttpMethod; path?: string },
  baseUrl: string,
): HttpCallConfig {
  const method = reader.string('method', defaults.method).toUpperCase();
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new SecretFormatError(reader.name('method'), `must be one of ${METHODS.join(', ')}`);
  }
  const path = reader.string('path', defaults.path);
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
    // Absolute URLs would let a call leave the declared origin with the admin credential.
    throw new SecretFormatError(reader.name('path'), 'must be a path relative to provider.baseUrl');
  }
  if (callUrl(baseUrl, path) === undefined) {
    throw new SecretFormatError(reader.name('path'), 'must stay on the host of provider.baseUrl');
  }
  const body = reader.source.body;
  return { method: method as HttpMethod, path, ...(body === undefined ? {} : { body }) };
}

/**
 * Parses and validates the secret's `provider` object. Errors name the field
 * (`provider.mint.keyPath`), never a value.
 *
 * @param allowedHosts - when non-empty, `baseUrl`'s host must be one of these
 *   (`API_KEY_PROVIDER_ALLOWED_HOSTS`): whoever can edit the secret could otherwise send the
 *   admin credential to a host of their choosing.
 * @throws SecretFormatError naming the field.
 */
export function parseHttpProviderConfig(
  raw: unknown,
  allowedHosts: readonly string[] = [],
): HttpProviderConfig {
  if (!isObject(raw)) throw new SecretFormatError('provider', 'must be an object');
  const root = new FieldReader(raw, 'provider');
  const type = root.string('type', 'http');
  if (type !== 'http')
    throw new SecretFormatError('provider.type', 'must be "http" (the only built-in provider)');

  const baseUrlText = root.string('baseUrl');
  let baseUrl: URL;
  try {
    baseUrl = new URL(baseUrlText);
  } catch {
    throw new SecretFormatError('provider.baseUrl', 'must be an absolute URL');
  }
  const loopback = LOOPBACK_HOSTS.has(baseUrl.hostname);
  if (baseUrl.protocol !== 'https:' && !(baseUrl.protocol === 'http:' && loopback)) {
    throw new SecretFormatError(
      'provider.baseUrl',
      'must use https (http is accepted for loopback hosts only)',
    );
  }
  if (baseUrl.username || baseUrl.password) {
    throw new SecretFormatError(
      'provider.baseUrl',
      'must not embed credentials; use provider.admin',
    );
  }
  if (allowedHosts.length > 0 && !allowedHosts.includes(baseUrl.hostname)) {
    throw new SecretFormatError(
      'provider.baseUrl',
      'host is not in API_KEY_PROVIDER_ALLOWED_HOSTS',
    );
  }

  const admin = root.object('admin', true) as FieldReader;
  const caps = root.object('capabilities', false) ?? new FieldReader({}, 'provider.capabilities');
  const mint = root.object('mint', true) as FieldReader;
  const test = root.object('test', true) as FieldReader;
  const revoke = root.object('revoke', true) as FieldReader;
  const list = root.object('list', false);

  const maxLiveKeys = caps.integer('maxLiveKeys', undefined, 1, 1_000);
  const canList = caps.boolean('canList', list !== undefined);
  if (canList && list === undefined) {
    throw new SecretFormatError(
      'provider.list',
      'must be declared when provider.capabilities.canList is true',
    );
  }
  const keysExpire = caps.boolean('keysExpire', false);
  const ttlSeconds = caps.integer('ttlSeconds', undefined, 1, 10 * 365 * 86_400);
  const capabilities: ProviderCapabilities = {
    canList,
    idempotentMint: caps.boolean('idempotentMint', false),
    keysExpire,
    propagationDelayMs: caps.integer('propagationDelayMs', 0, 0, 600_000) ?? 0,
    ...(maxLiveKeys === undefined ? {} : { maxLiveKeys }),
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
  };

  const base = baseUrl.toString().replace(/\/+$/, '');
  const adminField = admin.optionalString('field');
  const mintExpiresAt = mint.optionalPath('expiresAtPath');
  const testIdPath = test.optionalPath('idPath');
  const config: HttpProviderConfig = {
    type: 'http',
    baseUrl: base,
    timeoutMs: root.integer('timeoutMs', 5_000, 100, 120_000) ?? 5_000,
    retries: root.integer('retries', 2, 0, 5) ?? 2,
    admin: {
      secretId: admin.string('secretId'),
      header: admin.string('header', 'Authorization'),
      scheme: admin.string('scheme', 'Bearer'),
      ...(adminField === undefined ? {} : { field: adminField }),
    },
    capabilities,
    mint: {
      ...parseCall(mint, { method: 'POST' }, base),
      idempotencyHeader: mint.string('idempotencyHeader', 'Idempotency-Key'),
      keyPath: mint.path('keyPath'),
      idPath: mint.path('idPath'),
      ...(mintExpiresAt === undefined ? {} : { expiresAtPath: mintExpiresAt }),
    },
    test: {
      ...parseCall(test, { method: 'GET' }, base),
      header: test.string('header', 'Authorization'),
      scheme: test.string('scheme', 'Bearer'),
      ...(testIdPath === undefined ? {} : { idPath: testIdPath }),
    },
    revoke: parseCall(revoke, { method: 'DELETE' }, base),
    ...(list === undefined
      ? {}
      : {
          list: {
            ...parseCall(list, { method: 'GET' }, base),
            itemsPath: list.path('itemsPath', '$'),
            idPath: list.path('idPath', 'id'),
            ...optional('labelPath', list.optionalPath('labelPath')),
            ...optional('createdAtPath', list.optionalPath('createdAtPath')),
            ...optional('keyPath', list.optionalPath('keyPath')),
          },
        }),
  };
  if (config.list?.labelPath !== undefined) {
    // Finding a retried mint by label only works if the mint sets the label.
    if (!JSON.stringify([config.mint.path, config.mint.body ?? null]).includes('{label}')) {
      throw new SecretFormatError(
        'provider.mint.body',
        'must carry "{label}" (in the body or path) when provider.list.labelPath is declared',
      );
    }
  }
  return config;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Loads the admin credential; `forceFetch` after the provider refused the cached one. */
export type AdminCredentialLoader = (options: {
  forceFetch: boolean;
  signal: AbortSignal;
}) => Promise<string>;

/** Options for {@link HttpKeyProvider}. */
export interface HttpKeyProviderOptions {
  config: HttpProviderConfig;
  adminCredential: AdminCredentialLoader;
  /** `fetch` implementation; the global one by default. */
  fetch?: typeof fetch;
}

type Placeholders = { id?: string; label?: string; token?: string };

function fill(text: string, values: Placeholders, encode: boolean): string {
  return text.replace(/\{(id|label|token)\}/g, (whole, name: keyof Placeholders) => {
    const value = values[name];
    if (value === undefined) return whole;
    return encode ? encodeURIComponent(value) : value;
  });
}

function fillBody(body: unknown, values: Placeholders): unknown {
  if (typeof body === 'string') return fill(body, values, false);
  if (Array.isArray(body)) return body.map((item) => fillBody(item, values));
  if (isObject(body))
    return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, fillBody(v, values)]));
  return body;
}

interface Answer {
  status: number;
  body: unknown;
}

/**
 * A {@link KeyProvider} described entirely by configuration: one HTTP call per operation,
 * admin-authenticated except `test` (which authenticates with the key under test). Every
 * call has a timeout and the step's abort signal; calls that are safe to repeat are retried
 * on 5xx, 429 and timeouts. Bodies are never put into errors: providers echo keys.
 */
export class HttpKeyProvider implements KeyProvider {
  readonly capabilities: ProviderCapabilities;
  readonly #config: HttpProviderConfig;
  readonly #adminCredential: AdminCredentialLoader;
  readonly #fetch: typeof fetch;

  constructor(options: HttpKeyProviderOptions) {
    this.#config = options.config;
    this.capabilities = options.config.capabilities;
    this.#adminCredential = options.adminCredential;
    this.#fetch = options.fetch ?? fetch;
  }

  async mint(
    request: ProviderCallOptions & { label: string; idempotencyKey: string },
  ): Promise<MintedKey> {
    const { mint } = this.#config;
    const headers: Record<string, string> = {};
    if (mint.idempotencyHeader !== '') headers[mint.idempotencyHeader] = request.idempotencyKey;
    const values = { label: request.label, token: request.idempotencyKey };
    const answer = await this.#admin('mint', mint, values, headers, request.signal, {
      // Repeating a mint is only safe when the provider de-duplicates it.
      repeatable: this.capabilities.idempotentMint,
      accept: (status) => status >= 200 && status < 300,
    });
    const key = readJsonPath(answer.body, mint.keyPath);
    const id = readJsonPath(answer.body, mint.idPath);
    if (typeof key !== 'string' || key === '') {
      throw new ProviderResponseError('mint', mint.keyPath, 'does not hold a non-empty string');
    }
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new ProviderResponseError('mint', mint.idPath, 'does not hold a string or number');
    }
    const expiresAt = mint.expiresAtPath
      ? readJsonPath(answer.body, mint.expiresAtPath)
      : undefined;
    return { id: String(id), key, ...(typeof expiresAt === 'string' ? { expiresAt } : {}) };
  }

  async test(
    request: ProviderCallOptions & { key: string; expectedId?: string },
  ): Promise<'valid' | 'rejected'> {
    const { test } = this.#config;
    const value = test.scheme === '' ? request.key : `${test.scheme} ${request.key}`;
    const answer = await this.#withRetries(true, request.signal, () =>
      this.#send('test', test, {}, { [test.header]: value }, request.signal),
    );
    if (answer.status === 401 || answer.status === 403) return 'rejected';
    if (answer.status < 200 || answer.status >= 300) {
      throw new ProviderCallError('test', `unexpected HTTP status ${answer.status}`, {
        status: answer.status,
        // A provider still failing after our retries may recover within the propagation window.
        retryable: answer.status === 429 || answer.status >= 500,
      });
    }
    if (test.idPath && request.expectedId !== undefined) {
      const id = readJsonPath(answer.body, test.idPath);
      if (String(id) !== request.expectedId) return 'rejected';
    }
    return 'valid';
  }

  async revoke(request: ProviderCallOptions & { id: string }): Promise<'revoked' | 'absent'> {
    const answer = await this.#admin(
      'revoke',
      this.#config.revoke,
      { id: request.id },
      {},
      request.signal,
      {
        repeatable: true,
        accept: (status) => (status >= 200 && status < 300) || status === 404 || status === 410,
      },
    );
    return answer.status === 404 || answer.status === 410 ? 'absent' : 'revoked';
  }

  /** Present only when the declaration has a `list` call; see {@link KeyProvider.list}. */
  get list(): ((request: ProviderCallOptions) => Promise<ListedKey[]>) | undefined {
    const list = this.#config.list;
    if (!list || !this.capabilities.canList) return undefined;
    return async (request) => {
      const answer = await this.#admin('list', list, {}, {}, request.signal, {
        repeatable: true,
        accept: (status) => status >= 200 && status < 300,
      });
      const items = readJsonPath(answer.body, list.itemsPath);
      if (!Array.isArray(items))
        throw new ProviderResponseError('list', list.itemsPath, 'is not an array');
      return items.map((item, index): ListedKey => {
        const id = readJsonPath(item, list.idPath);
        if (typeof id !== 'string' && typeof id !== 'number') {
          throw new ProviderResponseError(
            'list',
            `${list.itemsPath}[${index}].${list.idPath}`,
            'is not a string or number',
          );
        }
        const label = list.labelPath ? readJsonPath(item, list.labelPath) : undefined;
        const createdAt = list.createdAtPath ? readJsonPath(item, list.createdAtPath) : undefined;
        const key = list.keyPath ? readJsonPath(item, list.keyPath) : undefined;
        return {
          id: String(id),
          ...(typeof label === 'string' ? { label } : {}),
          ...(typeof createdAt === 'string' ? { createdAt } : {}),
          ...(typeof key === 'string' && key !== '' ? { key } : {}),
        };
      });
    };
  }

  /** An admin-authenticated call; a 401/403 re-reads the credential once (it may have rotated). */
  async #admin(
    call: ProviderCall,
    config: HttpCallConfig,
    values: Placeholders,
    headers: Record<string, string>,
    signal: AbortSignal,
    options: { repeatable: boolean; accept: (status: number) => boolean },
  ): Promise<Answer> {
    const { admin } = this.#config;
    for (const forceFetch of [false, true]) {
      const credential = await this.#adminCredential({ forceFetch, signal });
      const auth = admin.scheme === '' ? credential : `${admin.scheme} ${credential}`;
      const answer = await this.#withRetries(options.repeatable, signal, () =>
        this.#send(call, config, values, { ...headers, [admin.header]: auth }, signal),
      );
      if (options.accept(answer.status)) return answer;
      if ((answer.status === 401 || answer.status === 403) && !forceFetch) continue;
      throw new ProviderCallError(call, `unexpected HTTP status ${answer.status}`, {
        status: answer.status,
        retryable: answer.status === 429 || answer.status >= 500,
      });
    }
    // Unreachable: the second pass either returns or throws.
    throw new ProviderCallError(call, 'admin credential refused', { retryable: false });
  }

  async #withRetries(
    repeatable: boolean,
    signal: AbortSignal,
    send: () => Promise<Answer>,
  ): Promise<Answer> {
    const attempts = repeatable ? this.#config.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      let answer: Answer | undefined;
      let failure: ProviderCallError | undefined;
      try {
        answer = await send();
      } catch (error) {
        if (!(error instanceof ProviderCallError) || !error.retryable) throw error;
        failure = error;
      }
      const transient =
        failure !== undefined ||
        (answer !== undefined && (answer.status === 429 || answer.status >= 500));
      if (!transient || attempt >= attempts || signal.aborted) {
        if (failure) throw failure;
        return answer as Answer;
      }
      try {
        await sleep(Math.min(2_000, 100 * 2 ** (attempt - 1)) * Math.random(), undefined, {
          signal,
        });
      } catch {
        if (failure) throw failure;
        return answer as Answer;
      }
    }
  }

  async #send(
    call: ProviderCall,
    config: HttpCallConfig,
    values: Placeholders,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Answer> {
    const url = callUrl(this.#config.baseUrl, fill(config.path, values, true));
    if (url === undefined) {
      // Never send the admin credential (or the key under test) to another origin.
      throw new ProviderCallError(call, 'the request URL leaves provider.baseUrl', {
        retryable: false,
      });
    }
    const body =
      config.body === undefined ? undefined : JSON.stringify(fillBody(config.body, values));
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: config.method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.any([signal, timeout]),
        redirect: 'error',
      });
    } catch (error) {
      const timedOut = timeout.aborted && !signal.aborted;
      throw new ProviderCallError(
        call,
        timedOut
          ? `no answer within ${this.#config.timeoutMs} ms`
          : signal.aborted
            ? 'aborted'
            : 'request failed',
        {
          retryable: !signal.aborted,
          // The cause is a fetch error: it names the URL and errno, never headers.
          cause: error,
        },
      );
    }
    let text: string | undefined;
    try {
      text = await readLimited(response, MAX_RESPONSE_BYTES);
    } catch (error) {
      throw new ProviderCallError(call, 'response body could not be read', {
        status: response.status,
        retryable: true,
        cause: error,
      });
    }
    if (text === undefined) {
      throw new ProviderCallError(call, `response body larger than ${MAX_RESPONSE_BYTES} bytes`, {
        status: response.status,
        retryable: false,
      });
    }
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: response.status, body: parsed };
  }
}

/** Provider answers are small JSON documents; anything this large is refused unread. */
const MAX_RESPONSE_BYTES = 1_048_576;
/** The body as text, or `undefined` once more than `limit` bytes arrive (then cancelled). */
async function readLimited(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
