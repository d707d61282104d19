/**
 * Value-based redaction: every secret value an invocation reads or generates is registered
 * here, and every log line and error message is scrubbed of it, including its URL-encoded,
 * JSON-escaped, SQL-escaped and base64 spellings (drivers put SQL text in errors, URLs carry
 * passwords percent-encoded, logs are JSON). Values are found with one linear scan of the
 * text ({@link ValueMatcher}), whatever their number and length.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mergeRanges, replaceRanges, type TextRange, ValueMatcher } from './ValueMatcher.js';

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Values shorter than this are not registered: scrubbing every `a` or `12` from logs would
 * make them unreadable, and no password policy we accept produces such a value.
 */
export const MIN_REDACTABLE_LENGTH = 4;

const SENSITIVE_KEYS = new Set([
  'password',
  'passwd',
  'pwd',
  'newpassword',
  'oldpassword',
  'masterpassword',
  'randompassword',
  'secret',
  'secretstring',
  'secretbinary',
  'secretvalue',
  'clientsecret',
  'secretkey',
  'secretaccesskey',
  'apikey',
  'apisecret',
  'key',
  'privatekey',
  'masterkey',
  'datakey',
  'token',
  'rotationtoken',
  'accesstoken',
  'refreshtoken',
  'sessiontoken',
  'idtoken',
  'authtoken',
  'bearertoken',
  'authorization',
  'cookie',
  'connectionstring',
  'connstring',
  'connectionuri',
  'databaseurl',
  'dsn',
  'credentials',
]);

/**
 * True when a field name means its value is secret (`password`, `SecretString`, `apiKey`,
 * `RotationToken`, `connectionString`, …). `ClientRequestToken` is a version id, not a
 * secret, and is logged on purpose.
 */
export function isSensitiveKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (SENSITIVE_KEYS.has(normalized)) return true;
  return normalized.includes('password') || normalized.endsWith('secretkey');
}

/** mysql2/sqlstring's string escaping, so values inside `err.sql` are found too. */
function mysqlEscaped(value: string): string {
  const map: Record<string, string> = {
    '\0': '\\0',
    '\b': '\\b',
    '\t': '\\t',
    '\n': '\\n',
    '\r': '\\r',
    '\x1a': '\\Z',
    '"': '\\"',
    "'": "\\'",
    '\\': '\\\\',
  };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the bytes sqlstring escapes.
  return value.replace(/[\0\b\t\n\r\x1a"'\\]/g, (c) => map[c] ?? c);
}

function spellings(value: string): string[] {
  const jsonEscaped = JSON.stringify(value).slice(1, -1);
  return [
    value,
    jsonEscaped,
    JSON.stringify(jsonEscaped).slice(1, -1),
    encodeURIComponent(value),
    encodeURI(value),
    value.replace(/'/g, "''"),
    mysqlEscaped(value),
    Buffer.from(value, 'utf8').toString('base64'),
  ];
}

/** Rebuild a value set's matchers into one past this many batches of registrations. */
const MAX_MATCHERS = 8;

/**
 * A set of secret values (with their escaped spellings) and the matchers that find them.
 * Values registered since the last scrub are indexed as one more batch, so registering and
 * logging in turn does not rebuild the whole index every time.
 */
export class SecretValues {
  readonly #spellings = new Set<string>();
  #matchers: ValueMatcher[] = [];
  #unindexed: string[] = [];

  /** Adds a secret value and its escaped spellings. Short values are ignored. */
  add(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < MIN_REDACTABLE_LENGTH) return;
    for (const spelling of spellings(value)) {
      if (spelling.length >= MIN_REDACTABLE_LENGTH && !this.#spellings.has(spelling)) {
        this.#spellings.add(spelling);
        this.#unindexed.push(spelling);
      }
    }
  }

  /** The matchers for every spelling added so far. */
  matchers(): readonly ValueMatcher[] {
    if (this.#unindexed.length > 0) {
      this.#matchers =
        this.#matchers.length < MAX_MATCHERS
          ? [...this.#matchers, ValueMatcher.of(this.#unindexed)]
          : [ValueMatcher.of(this.#spellings)];
      this.#unindexed = [];
    }
    return this.#matchers;
  }

  /** Replaces every held value in `text` with {@link REDACTED}. */
  scrub(text: string): string {
    return scrubWith(text, [this]);
  }

  /** Forgets every value. */
  clear(): void {
    this.#spellings.clear();
    this.#matchers = [];
    this.#unindexed = [];
  }

  /** Number of spellings held. */
  get size(): number {
    return this.#spellings.size;
  }
}

/**
 * Replaces every part of `text` covered by a value of any of `sets` with {@link REDACTED}.
 * Where occurrences overlap (a value and a longer spelling of it, or two values), the whole
 * covered stretch becomes one {@link REDACTED}, so no part of either is left.
 */
function scrubWith(text: string, sets: Iterable<SecretValues>): string {
  const ranges: TextRange[][] = [];
  for (const set of sets) {
    if (set.size === 0) continue;
    for (const matcher of set.matchers()) ranges.push(matcher.ranges(text));
  }
  return replaceRanges(text, mergeRanges(ranges), REDACTED);
}

/**
 * The secret values known to this process, owned by invocation scopes
 * ({@link SecretRegistry.runInScope}): a value registered inside a scope belongs to it and is
 * forgotten when the scope ends, and every scrub covers the values of every scope still
 * running (a concurrent invocation's value must not leak through another's log line either).
 * Values registered outside any scope (the operator CLI) stay until {@link clear}.
 */
export class SecretRegistry {
  readonly #scope = new AsyncLocalStorage<SecretValues>();
  readonly #running = new Set<SecretValues>();
  readonly #unscoped = new SecretValues();

  /** Registers a secret value (and its escaped spellings). Short values are ignored. */
  register(value: string | undefined | null): void {
    const scope = this.#scope.getStore();
    // A callback that outlives its invocation (a late driver event, a timer) still runs in
    // the ended scope: its value goes to the process-wide set, where every scrub sees it,
    // rather than into a scope no scrub reads any more.
    (scope !== undefined && this.#running.has(scope) ? scope : this.#unscoped).add(value);
  }

  /**
   * Registers a `SecretString`: the whole string, and when it is JSON, every string (and the
   * text of every number) under a sensitive key at any depth (see {@link isSensitiveKey}).
   */
  registerSecretString(secretString: string | undefined): void {
    if (secretString === undefined) return;
    this.register(secretString);
    for (const leaf of sensitiveLeaves(secretString)) this.register(leaf);
  }

  /**
   * Registers a `SecretBinary` given as base64 (how the engine hands it to strategies): the
   * base64 text with its spellings, and the bytes in hex.
   */
  registerSecretBinary(base64: string): void {
    this.register(base64);
    this.register(Buffer.from(base64, 'base64').toString('hex'));
  }

  /**
   * Registers a secret version's value: a `SecretString` as {@link registerSecretString}
   * does, a `SecretBinary` (given as base64) as {@link registerSecretBinary} does.
   */
  registerValue(value: { readonly text: string; readonly binary: boolean } | undefined): void {
    if (value === undefined) return;
    if (value.binary) this.registerSecretBinary(value.text);
    else this.registerSecretString(value.text);
  }

  /**
   * Runs `fn` in a new invocation scope: values registered while it runs (in any callback or
   * promise it starts) belong to the scope, are scrubbed from every line logged meanwhile by
   * anyone, and are forgotten once `fn` has settled.
   *
   * @example
   * ```ts
   * await secretRegistry.runInScope(async () => handleStep(event));
   * ```
   */
  async runInScope<T>(fn: () => Promise<T>): Promise<T> {
    const scope = new SecretValues();
    this.#running.add(scope);
    try {
      return await this.#scope.run(scope, fn);
    } finally {
      this.#running.delete(scope);
      scope.clear();
    }
  }

  /** Replaces every registered value in `text` with {@link REDACTED}. */
  scrub(text: string): string {
    return scrubWith(text, [this.#unscoped, ...this.#running]);
  }

  /** True when `text` contains a registered value. */
  contains(text: string): boolean {
    return this.scrub(text) !== text;
  }

  /** Forgets every value, of running scopes too. */
  clear(): void {
    this.#unscoped.clear();
    for (const scope of this.#running) scope.clear();
  }

  /** Number of spellings held, across running scopes; for tests and diagnostics. */
  get size(): number {
    let size = this.#unscoped.size;
    for (const scope of this.#running) size += scope.size;
    return size;
  }

  /** Number of invocation scopes running; for tests and diagnostics. */
  get scopes(): number {
    return this.#running.size;
  }
}

/** Every string (and the text of every number) under a sensitive key, at any depth, of a JSON text (none if not JSON). */
export function sensitiveLeaves(secretString: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    return [];
  }
  const out: string[] = [];
  collectLeaves(parsed, false, out);
  return out;
}

function collectLeaves(node: unknown, underSensitiveKey: boolean, out: string[]): void {
  if (typeof node === 'string') {
    if (underSensitiveKey) out.push(node);
  } else if (typeof node === 'number') {
    // A numeric password or PIN: written out as text (a sync target's field, a driver's
    // error), so its text is a secret too. Booleans are not: "true" is no secret.
    if (underSensitiveKey && Number.isFinite(node)) out.push(String(node));
  } else if (Array.isArray(node)) {
    for (const item of node) collectLeaves(item, underSensitiveKey, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, child] of Object.entries(node)) {
      collectLeaves(child, underSensitiveKey || isSensitiveKey(key), out);
    }
  }
}

/** The process-wide registry the default logger and engine use. */
export const secretRegistry = new SecretRegistry();

/**
 * Scrubs an error in place (message, stack, every enumerable string property such as
 * mysql2's `sql`, nested objects and the `cause` chain) and masks properties whose names are
 * sensitive. Returns the same error so it can be re-thrown with its class intact.
 */
export function scrubError<T>(error: T, registry: SecretRegistry = secretRegistry): T {
  scrubObject(error, registry, new Set(), 0);
  return error;
}

function scrubObject(
  node: unknown,
  registry: SecretRegistry,
  seen: Set<object>,
  depth: number,
): void {
  if (node === null || typeof node !== 'object' || seen.has(node) || depth > 8) return;
  seen.add(node);
  const target = node as Record<string, unknown>;
  const keys = new Set<string>(Object.keys(target));
  if (node instanceof Error) {
    keys.add('message');
    keys.add('stack');
    keys.add('cause');
  }
  for (const key of keys) {
    let value: unknown;
    try {
      value = target[key];
    } catch {
      continue;
    }
    try {
      if (typeof value === 'string') {
        const scrubbed = isSensitiveKey(key) ? REDACTED : registry.scrub(value);
        if (scrubbed !== value) target[key] = scrubbed;
      } else if (value !== null && typeof value === 'object') {
        scrubObject(value, registry, seen, depth + 1);
      }
    } catch {
      // A read-only property we cannot rewrite: drop it rather than let it leak.
      try {
        delete target[key];
      } catch {
        /* frozen object: nothing more we can do */
      }
    }
  }
}

/**
 * A `JSON.stringify` replacer (Powertools Logger's `jsonReplacerFn`) that masks sensitive
 * keys and scrubs registered values from every string, at any depth.
 */
export function redactingReplacer(
  registry: SecretRegistry = secretRegistry,
): (key: string, value: unknown) => unknown {
  return (key, value) => {
    if (key !== '' && isSensitiveKey(key) && value !== undefined && value !== null) return REDACTED;
    if (typeof value === 'string') return registry.scrub(value);
    return value;
  };
}
