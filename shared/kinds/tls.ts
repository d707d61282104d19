import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ConfigurationError, SecretFormatError } from '../errors.js';

/**
 * How a connection uses TLS. There is deliberately no "prefer" mode: AWS's functions try
 * TLS and silently fall back to plaintext when `ssl` is absent; we never fall back.
 *
 * - `disable`: plaintext only.
 * - `require`: TLS, certificate not verified (encryption against passive eavesdroppers only).
 * - `verify-full`: TLS, certificate chain verified against the CA bundle and the host name
 *   checked against the certificate.
 */
export type SslMode = 'disable' | 'require' | 'verify-full';

/** The TLS settings of one login. */
export interface TlsSettings {
  readonly mode: SslMode;
  /**
   * CA bundle: PEM text, or an absolute path to a PEM file. Absent: Node's default trust
   * store (plus `NODE_EXTRA_CA_CERTS`, which is how the RDS bundle is usually added).
   */
  readonly ca?: string;
}

/** Every accepted spelling of {@link SslMode}. */
export const SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-full'];

/** The default when a secret has neither `ssl` nor `sslMode`. */
export const DEFAULT_SSL_MODE: SslMode = 'verify-full';

function isSslMode(value: string): value is SslMode {
  return (SSL_MODES as readonly string[]).includes(value);
}

/**
 * Reads `DEFAULT_SSL_MODE` (the mode for secrets that say nothing about TLS). Validated at
 * start-up: a typo must not weaken TLS.
 */
export function defaultSslModeFromEnv(env: NodeJS.ProcessEnv = process.env): SslMode {
  const raw = env.DEFAULT_SSL_MODE?.trim().toLowerCase();
  if (raw === undefined || raw === '') return DEFAULT_SSL_MODE;
  if (!isSslMode(raw)) {
    throw new ConfigurationError('DEFAULT_SSL_MODE', `must be one of ${SSL_MODES.join(', ')}`);
  }
  return raw;
}

function sslFlag(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lowered = value.trim().toLowerCase();
    if (lowered === 'true') return true;
    if (lowered === 'false') return false;
  }
  // AWS's functions treat any other value as "try TLS, fall back"; we refuse to guess.
  throw new SecretFormatError('ssl', 'must be true, false, "true" or "false"');
}

/**
 * Reads a secret's TLS fields: AWS's `ssl` (`true`/`"true"` = TLS with a verified
 * certificate, `false`/`"false"` = plaintext) and our explicit `sslMode` and `sslCa`.
 * `sslMode` wins over `ssl`; a contradiction (`ssl: false` with a TLS mode, or `ssl: true`
 * with `disable`) is an error rather than a guess. Neither present: `defaultMode`.
 */
export function parseTlsSettings(
  secret: Readonly<Record<string, unknown>>,
  defaultMode: SslMode = DEFAULT_SSL_MODE,
): TlsSettings {
  const flag = sslFlag(secret.ssl);
  let mode: SslMode;
  const rawMode = secret.sslMode;
  if (rawMode !== undefined && rawMode !== null) {
    if (typeof rawMode !== 'string' || !isSslMode(rawMode.trim().toLowerCase())) {
      throw new SecretFormatError('sslMode', `must be one of ${SSL_MODES.join(', ')}`);
    }
    mode = rawMode.trim().toLowerCase() as SslMode;
    if (flag !== undefined && flag !== (mode !== 'disable')) {
      throw new SecretFormatError('sslMode', 'contradicts field "ssl"');
    }
  } else if (flag !== undefined) {
    mode = flag ? 'verify-full' : 'disable';
  } else {
    mode = defaultMode;
  }
  const ca = secret.sslCa;
  if (ca !== undefined && ca !== null) {
    if (typeof ca !== 'string' || ca.trim() === '') {
      throw new SecretFormatError('sslCa', 'must be PEM text or an absolute file path');
    }
    const trimmed = ca.trim();
    if (!trimmed.startsWith('-----BEGIN') && !trimmed.startsWith('/')) {
      throw new SecretFormatError('sslCa', 'must be PEM text or an absolute file path');
    }
    return { mode, ca: trimmed };
  }
  return { mode };
}

/**
 * Node TLS options for a connection to `host` under `settings`, or `undefined` for
 * plaintext. A CA path is read here, so a missing file fails the step with its reason.
 */
export async function tlsConnectionOptions(
  settings: TlsSettings,
  host: string,
): Promise<ConnectionOptions | undefined> {
  if (settings.mode === 'disable') return undefined;
  if (settings.mode === 'require') return { rejectUnauthorized: false };
  let ca: string | undefined;
  if (settings.ca !== undefined) {
    ca = await caBundleText(settings.ca);
  }
  // SNI must not carry an IP address (RFC 6066); the identity check still uses `host`.
  return {
    rejectUnauthorized: true,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(ca ? { ca } : {}),
  };
}

/** The error for a CA file that cannot be read: the functions and the CLI both throw it. */
export function unreadableCaFile(error: unknown): SecretFormatError {
  return new SecretFormatError(
    'sslCa',
    `names a CA file that cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    { cause: error },
  );
}

async function readCaFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw unreadableCaFile(error);
  }
}

/**
 * The PEM text of a CA setting: as given, or read from the absolute path it names (an
 * unreadable file is {@link unreadableCaFile}, as at connect time).
 */
export async function caBundleText(ca: string | undefined): Promise<string | undefined> {
  if (ca === undefined || ca.startsWith('-----BEGIN')) return ca;
  return readCaFile(ca);
}
