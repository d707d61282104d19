import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { secretsManagerEndpoint } from '../../shared/secrets/client.js';
import type { SyncClients } from '../../shared/sync/TargetWriter.js';
import { OperatorError, UsageError } from './errors.js';
import type { Output } from './output.js';
import { definedFlags, type Suggestions } from './suggest.js';

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
  /** SSM, S3 and KMS clients for sync targets, built on first use (`reconcile`). */
  readonly syncClients: SyncClients;
  readonly out: Output;
  readonly json: boolean;
  /** The global options each kind of suggested command repeats (see `suggest.ts`). */
  readonly suggest: Suggestions;
  /** Clock, injectable for tests of ages and timeouts. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * Sync-target clients with the CLI's region, profile and credentials. Against a local
 * endpoint (the twin serves KMS, Parameter Store and S3 beside Secrets Manager) they use
 * it too, S3 path-style; otherwise the SDK's own endpoint settings.
 */
function syncClients(common: object, localEndpoint: string | undefined): SyncClients {
  const config = { ...common, ...(localEndpoint ? { endpoint: localEndpoint } : {}) };
  let ssm: SSMClient | undefined;
  let s3: S3Client | undefined;
  let kms: KMSClient | undefined;
  return {
    ssm: () => {
      ssm ??= new SSMClient(config);
      return ssm;
    },
    s3: () => {
      s3 ??= new S3Client({ ...config, ...(localEndpoint ? { forcePathStyle: true } : {}) });
      return s3;
    },
    kms: () => {
      kms ??= new KMSClient(config);
      return kms;
    },
  };
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

/** Why `url` is not an endpoint URL, or `undefined` when it is one. */
function endpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `it has no http:// or https:// scheme`;
  return undefined;
}

function checkEndpoint(url: string, source: string, fromFlag: boolean): void {
  const problem = endpointProblem(url);
  if (!problem) return;
  const message = `${source} ${JSON.stringify(url)} is not a valid endpoint URL (${problem}); e.g. http://127.0.0.1:4599 or https://secretsmanager.eu-west-1.amazonaws.com`;
  // A bad option is a usage error (exit 2); a bad variable is the environment's (exit 1).
  throw fromFlag ? new UsageError(message) : new OperatorError(message);
}

/** The environment variable the Secrets Manager endpoint came from (for messages). */
function endpointVariable(env: NodeJS.ProcessEnv, endpoint: string): string {
  return (
    ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'SECRETS_MANAGER_ENDPOINT', 'AWS_ENDPOINT_URL'].find(
      (name) => env[name]?.trim() === endpoint,
    ) ?? 'the endpoint'
  );
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
  // An invalid URL would otherwise count as a non-AWS, non-loopback endpoint and end in a
  // misleading "no AWS credentials found".
  if (endpoint !== undefined) {
    const fromFlag = options.endpointUrl !== undefined;
    checkEndpoint(
      endpoint,
      fromFlag ? '--endpoint-url' : endpointVariable(env, endpoint),
      fromFlag,
    );
  }
  const local = isNonAwsEndpoint(endpoint);
  const hasCredentials =
    options.profile !== undefined ||
    env.AWS_PROFILE !== undefined ||
    env.AWS_ACCESS_KEY_ID !== undefined;
  const dummy =
    isLoopback(endpoint) && !hasCredentials
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {};
  const configuredRegion = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  // The twin's default Region: a suggested `aws` command must name it, the AWS CLI has none.
  const defaultRegion = configuredRegion === undefined && local ? 'us-east-1' : undefined;
  const region = configuredRegion ?? defaultRegion;
  const common = {
    ...(region ? { region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...dummy,
  };
  const sm = new SecretsManagerClient({ ...common, ...(endpoint ? { endpoint } : {}) });
  // Lambda is asked only where it is the real service, or where the operator pointed the
  // SDK's own Lambda endpoint variable somewhere (LocalStack).
  const lambdaEndpoint = env.AWS_ENDPOINT_URL_LAMBDA;
  const regionFlag = options.region ?? defaultRegion;
  const suggest: Suggestions = {
    rotator: definedFlags({
      endpointUrl: options.endpointUrl,
      region: options.region,
      profile: options.profile,
    }),
    secretsmanager: definedFlags({
      endpointUrl: endpoint,
      region: regionFlag,
      profile: options.profile,
    }),
    lambda: definedFlags({
      endpointUrl: lambdaEndpoint,
      region: regionFlag,
      profile: options.profile,
    }),
    sam: definedFlags({ region: options.region, profile: options.profile }),
  };
  const lambda =
    !local || lambdaEndpoint
      ? new LambdaClient({ ...common, ...(lambdaEndpoint ? { endpoint: lambdaEndpoint } : {}) })
      : undefined;
  return {
    sm,
    lambda,
    endpoint,
    local,
    syncClients: syncClients(common, local ? endpoint : undefined),
    out,
    json: options.json,
    suggest,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
