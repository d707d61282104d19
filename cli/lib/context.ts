import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsManagerEndpoint } from '../../shared/secrets/client.js';
import type { Output } from './output.js';

/** Options every command accepts. */
export interface GlobalOptions {
  /** Secrets Manager endpoint; else `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `SECRETS_MANAGER_ENDPOINT`, `AWS_ENDPOINT_URL`. */
  endpointUrl?: string;
  region?: string;
  profile?: string;
  json: boolean;
  color: boolean;
}

/** Everything a command needs: clients, where it runs against, and where it writes. */
export interface CommandContext {
  readonly sm: SecretsManagerClient;
  /** `undefined` when Lambda is not reachable from here (a local Secrets Manager endpoint). */
  readonly lambda: LambdaClient | undefined;
  /** The Secrets Manager endpoint override in effect, if any. */
  readonly endpoint: string | undefined;
  /** True when the endpoint is not AWS (the local twin, LocalStack...). */
  readonly local: boolean;
  readonly out: Output;
  readonly json: boolean;
  /** Clock, injectable for tests of ages and timeouts. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True for an endpoint that is not an AWS service endpoint. */
export function isNonAwsEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname.toLowerCase();
    return !(host.endsWith('.amazonaws.com') || host.endsWith('.amazonaws.com.cn'));
  } catch {
    return true;
  }
}

function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    return LOOPBACK.has(new URL(endpoint).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * Builds the clients with the SDK's standard chains: credentials from `--profile`, the
 * environment, SSO, the shared files or instance metadata; region from `--region`, then
 * `AWS_REGION`/the profile. On a loopback endpoint (the local twin, which checks no
 * signature) dummy credentials are used when none are configured, so `npm start` plus
 * `npx rotator --endpoint-url http://127.0.0.1:4599 status` just works.
 */
export function createContext(
  options: GlobalOptions,
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): CommandContext {
  const endpoint = options.endpointUrl ?? secretsManagerEndpoint(env);
  const local = isNonAwsEndpoint(endpoint);
  const hasCredentials =
    options.profile !== undefined ||
    env.AWS_PROFILE !== undefined ||
    env.AWS_ACCESS_KEY_ID !== undefined;
  const dummy =
    isLoopback(endpoint) && !hasCredentials
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {};
  const region =
    options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (local ? 'us-east-1' : undefined);
  const common = {
    ...(region ? { region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...dummy,
  };
  const sm = new SecretsManagerClient({ ...common, ...(endpoint ? { endpoint } : {}) });
  // Lambda is asked only where it is the real service, or where the operator pointed the
  // SDK's own Lambda endpoint variable somewhere (LocalStack).
  const lambdaEndpoint = env.AWS_ENDPOINT_URL_LAMBDA;
  const lambda =
    !local || lambdaEndpoint
      ? new LambdaClient({ ...common, ...(lambdaEndpoint ? { endpoint: lambdaEndpoint } : {}) })
      : undefined;
  return {
    sm,
    lambda,
    endpoint,
    local,
    out,
    json: options.json,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
