import { setTimeout as sleep } from 'node:timers/promises';
import { type ProviderCall, ProviderCallError, ProviderResponseError } from './errors.js';
import { callUrl, type HttpCallConfig, type HttpProviderConfig } from './httpDeclaration.js';
import { readJsonPath } from './jsonPath.js';
import type {
  KeyProvider,
  ListedKey,
  MintedKey,
  ProviderCallOptions,
  ProviderCapabilities,
} from './KeyProvider.js';

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
  if (body !== null && typeof body === 'object')
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
