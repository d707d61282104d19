import { SecretFormatError } from '../../errors.js';
import { isValidJsonPath } from './jsonPath.js';
import type { ProviderCapabilities } from './KeyProvider.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** The HTTP methods a declared call may use. */
export type HttpMethod = (typeof METHODS)[number];

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
 * `api.vendor.com.evil.example`, and the admin credential would go there). Checked when the
 * declaration is parsed and again on every call, after placeholders are filled in.
 */
export function callUrl(baseUrl: string, path: string): string | undefined {
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
