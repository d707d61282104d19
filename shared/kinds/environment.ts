import { ConfigurationError } from '../errors.js';

/** Default connect timeout for every kind, as AWS's functions (`connect_timeout=5`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** The generic name, and the database functions' older one (still accepted). */
const TIMEOUT_NAMES = ['CONNECT_TIMEOUT_MS', 'DB_CONNECT_TIMEOUT_MS'] as const;

function timeoutValue(name: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 100 || value > 60_000) {
    throw new ConfigurationError(name, 'must be a whole number of milliseconds from 100 to 60000');
  }
  return value;
}

/**
 * Reads the connect timeout of any kind's target (database, Redis, key provider):
 * `CONNECT_TIMEOUT_MS`, or the older `DB_CONNECT_TIMEOUT_MS`; default 5000, 100–60000.
 * Both set to different values is refused rather than guessed.
 */
export function connectTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const set = TIMEOUT_NAMES.flatMap((name) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? [] : [{ name, value: timeoutValue(name, raw) }];
  });
  const [first, second] = set;
  if (first === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  if (second !== undefined && second.value !== first.value) {
    throw new ConfigurationError(
      TIMEOUT_NAMES.join(' and '),
      'are both set, to different values: set only CONNECT_TIMEOUT_MS',
    );
  }
  return first.value;
}
