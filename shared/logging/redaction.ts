/**
 * Value-based redaction: every secret value an invocation reads or generates is registered
 * here, and every log line and error message is scrubbed of it, including its URL-encoded,
 * JSON-escaped and SQL-escaped spellings (drivers put SQL text in errors, URLs carry
 * passwords percent-encoded, logs are JSON).
 */

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

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The set of secret values known to this process. Registration is reference-counted by
 * invocation scope ({@link enterScope}/{@link exitScope}) so values are dropped once no
 * invocation that read them is running (rotations of different secrets may run in one
 * process in the local twin).
 */
export class SecretRegistry {
  #values = new Set<string>();
  #pattern: RegExp | undefined;
  #scopes = 0;

  /** Registers a secret value (and its escaped spellings). Short values are ignored. */
  register(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < MIN_REDACTABLE_LENGTH) return;
    for (const spelling of spellings(value)) {
      if (spelling.length >= MIN_REDACTABLE_LENGTH && !this.#values.has(spelling)) {
        this.#values.add(spelling);
        this.#pattern = undefined;
      }
    }
  }

  /**
   * Registers a `SecretString`: the whole string, and when it is JSON, every string under a
   * sensitive key at any depth (see {@link isSensitiveKey}).
   */
  registerSecretString(secretString: string | undefined): void {
    if (secretString === undefined) return;
    this.register(secretString);
    let parsed: unknown;
    try {
      parsed = JSON.parse(secretString);
    } catch {
      return;
    }
    this.#registerSensitiveLeaves(parsed, false);
  }

  #registerSensitiveLeaves(node: unknown, underSensitiveKey: boolean): void {
    if (typeof node === 'string') {
      if (underSensitiveKey) this.register(node);
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) this.#registerSensitiveLeaves(item, underSensitiveKey);
      return;
    }
    if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        this.#registerSensitiveLeaves(child, underSensitiveKey || isSensitiveKey(key));
      }
    }
  }

  /** Replaces every registered value in `text` with {@link REDACTED}. */
  scrub(text: string): string {
    if (this.#values.size === 0) return text;
    if (this.#pattern === undefined) {
      // Longest first, so a value is not half-replaced by a shorter spelling of itself.
      const alternatives = [...this.#values].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#pattern = new RegExp(alternatives.join('|'), 'g');
    }
    return text.replace(this.#pattern, REDACTED);
  }

  /** True when `text` contains a registered value. */
  contains(text: string): boolean {
    return this.scrub(text) !== text;
  }

  /** Marks the start of an invocation that registers values. */
  enterScope(): void {
    this.#scopes += 1;
  }

  /** Marks its end; the last one out forgets every value. */
  exitScope(): void {
    this.#scopes = Math.max(0, this.#scopes - 1);
    if (this.#scopes === 0) this.clear();
  }

  /** Forgets every value. */
  clear(): void {
    this.#values.clear();
    this.#pattern = undefined;
  }

  /** Number of spellings held; for tests and diagnostics. */
  get size(): number {
    return this.#values.size;
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
