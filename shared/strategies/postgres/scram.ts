import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { passwordForScram } from './saslprep.js';

/** PostgreSQL's fixed iteration count before `scram_iterations` (PG < 16) and its default. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;

/** Salt length PostgreSQL uses (SCRAM_DEFAULT_SALT_LEN). */
const SALT_LENGTH = 16;

/** Options for {@link scramSha256Verifier}; tests fix the salt, production never does. */
export interface ScramOptions {
  iterations?: number;
  salt?: Buffer;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password`, computed here so the
 * plaintext never travels in SQL text (what libpq's `PQencryptPasswordConn` and psql's
 * `\password` do): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802,
 * RFC 7677), base64 fields. PostgreSQL stores a value of this shape as is.
 *
 * @example
 * ```ts
 * const verifier = scramSha256Verifier(password, { iterations: 4096 });
 * await client.query(`ALTER ROLE ${escapeIdentifier(user)} PASSWORD ${escapeLiteral(verifier)}`);
 * ```
 */
export function scramSha256Verifier(password: string, options: ScramOptions = {}): string {
  const { iterations, salt } = scramParameters(options);
  return verifierFrom(
    pbkdf2Sync(Buffer.from(passwordForScram(password), 'utf8'), salt, iterations, 32, 'sha256'),
    iterations,
    salt,
  );
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * {@link scramSha256Verifier} with the key derivation (about 1.4 ms at 4,096 iterations) on
 * libuv's thread pool, so it can run while the step waits for the database.
 */
export async function scramSha256VerifierAsync(
  password: string,
  options: ScramOptions = {},
): Promise<string> {
  const { iterations, salt } = scramParameters(options);
  const salted = await pbkdf2Async(
    Buffer.from(passwordForScram(password), 'utf8'),
    salt,
    iterations,
    32,
    'sha256',
  );
  return verifierFrom(salted, iterations, salt);
}

function scramParameters(options: ScramOptions): { iterations: number; salt: Buffer } {
  const iterations = options.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError('SCRAM iterations must be a positive whole number');
  }
  return { iterations, salt: options.salt ?? randomBytes(SALT_LENGTH) };
}

function verifierFrom(salted: Buffer, iterations: number, salt: Buffer): string {
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
