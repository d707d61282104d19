import {
  ConnectionFailedError,
  CredentialRejectedError,
  LoginRefusedError,
  SecretFormatError,
  StepTimeoutError,
} from '../errors.js';
import type { LoginVerdict } from './CredentialKind.js';
import { NETWORK_ERROR_CODES, networkErrorCode } from './network.js';

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

/**
 * The {@link LoginVerdict} for an error thrown while a kind verified a credential, so that
 * `checkLogin` answers exactly what `verify` (testSecret) would have done: a malformed
 * secret is `invalid` (naming the field), refused credentials `rejected`, a network failure
 * `unreachable`, anything else (TLS, protocol) `error`. Details are codes, never values.
 */
export function verdictOf(error: unknown, username?: string): LoginVerdict {
  const who = username === undefined ? {} : { username };
  if (error instanceof SecretFormatError) {
    return { outcome: 'invalid', field: error.field, detail: error.message, ...who };
  }
  if (error instanceof LoginRefusedError || error instanceof CredentialRejectedError) {
    const code = codeOf(error) ?? codeOf((error as { cause?: unknown }).cause);
    return { outcome: 'rejected', ...(code ? { detail: code } : {}), ...who };
  }
  if (error instanceof StepTimeoutError) {
    return { outcome: 'unreachable', detail: 'ETIMEDOUT', ...who };
  }
  if (error instanceof ConnectionFailedError) {
    const code = error.code ?? networkErrorCode(error.cause ?? error);
    const outcome = NETWORK_ERROR_CODES.has(code) ? 'unreachable' : 'error';
    return { outcome, detail: code, ...who };
  }
  return { outcome: 'error', detail: codeOf(error) ?? (error as Error)?.name ?? 'error', ...who };
}

/** What a verification learned before it failed, for the verdict. */
export interface VerificationProgress {
  /** The login name, once the secret has been parsed. */
  username?: string;
}

/**
 * Runs a kind's verification (the very code its strategy's `verify` runs) and returns the
 * verdict instead of throwing: `accepted` when `verify` resolves, else {@link verdictOf}
 * its error. `verify` records the login name in `progress` as soon as it knows it.
 */
export async function loginVerdict(
  verify: (progress: VerificationProgress) => Promise<void>,
): Promise<LoginVerdict> {
  const progress: VerificationProgress = {};
  try {
    await verify(progress);
    return {
      outcome: 'accepted',
      ...(progress.username === undefined ? {} : { username: progress.username }),
    };
  } catch (error) {
    return verdictOf(error, progress.username);
  }
}
