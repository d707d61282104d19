import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { stackFreezeReader } from '../governance/stackFreeze.js';
import type { CredentialKind } from '../kinds/CredentialKind.js';
import { connectTimeoutFromEnv } from '../kinds/environment.js';
import { createRotationLogger } from '../logging/logger.js';
import { type SecretRegistry, scrubError, secretRegistry } from '../logging/redaction.js';
import { GatewayAdminSecrets } from '../secrets/AdminSecrets.js';
import { createSecretsManagerClient } from '../secrets/client.js';
import { passwordSourceFromEnv } from '../secrets/PasswordSource.js';
import { passwordPolicyFromEnv } from '../secrets/passwords.js';
import type { RetryPolicy } from '../secrets/retry.js';
import { SecretsGateway } from '../secrets/SecretsGateway.js';
import type { VersionCache } from '../secrets/VersionCache.js';
import { lazyTargetWriter, type TargetWriterLoader } from '../sync/loadWriter.js';
import { validateRotationEvent } from './event.js';
import { runRotationStep, type StepOutcome } from './protocol.js';
import { StepMetrics } from './stepMetrics.js';
import type { RotationStrategy } from './types.js';

/** Options for {@link rotationHandler}; every one has a production default. */
export interface RotationHandlerOptions {
  /** Secrets Manager client; by default one built from the environment's endpoint settings. */
  client?: SecretsManagerClient;
  /** Environment to read configuration from; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Logger; by default a redacting Powertools logger. */
  logger?: Logger;
  /** Service name for the default logger. */
  serviceName?: string;
  /** Registry of secret values to scrub; the process-wide one by default. */
  registry?: SecretRegistry;
  /** Immutable-version cache; the process-wide one by default, `null` disables. */
  cache?: VersionCache | null;
  /** Retry policy for Secrets Manager calls. */
  retry?: RetryPolicy;
  /**
   * The writer of sync targets (docs/sync.md); by default loaded on first use with clients
   * for the environment's endpoints, so a secret without targets loads and builds nothing.
   */
  targetWriter?: TargetWriterLoader;
  /** Abort the step this long before the Lambda timeout, so it fails cleanly. Default 1000. */
  timeoutEarlyInMillis?: number;
  /** Step metrics (EMF on stdout); by default built from the environment, `null` disables. */
  metrics?: StepMetrics | null;
}

/** The Lambda handler {@link rotationHandler} returns. */
export type RotationLambdaHandler = MiddyfiedHandler<unknown, void, Error, Context>;

/** Scrubs the error on its way out: Lambda prints it, message, stack and all. */
function scrubThrownError(registry: SecretRegistry): MiddlewareObj<unknown, void, Error, Context> {
  return {
    onError: (request) => {
      if (request.error) scrubError(request.error, registry);
    },
  };
}

function isKind(subject: CredentialKind | RotationStrategy): subject is CredentialKind {
  return typeof (subject as CredentialKind).createStrategy === 'function';
}

/**
 * Builds a Lambda handler that carries out Secrets Manager's rotation protocol for a
 * credential kind (or a ready-made strategy, as tests and custom kinds pass). Configuration
 * (password policy, connect timeout, endpoint, the kind's own variables) is read and
 * validated here, at start-up, so a bad deployment fails on its first invocation rather
 * than mid-rotation; the kind's strategy is built from that validated environment.
 *
 * @example
 * ```ts
 * export const handler = rotationHandler(postgresKind, { serviceName: 'rotator-postgres' });
 * ```
 */
export function rotationHandler(
  kindOrStrategy: CredentialKind | RotationStrategy,
  options: RotationHandlerOptions = {},
): RotationLambdaHandler {
  const env = options.env ?? process.env;
  const registry = options.registry ?? secretRegistry;
  const client = options.client ?? createSecretsManagerClient(env);
  const gateway = new SecretsGateway({
    client,
    ...(options.cache !== undefined ? { cache: options.cache } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    onSecretValue: (value) => registry.registerValue(value),
    onRetry: (operation, error, attempt) =>
      logger.warn('Retrying Secrets Manager call', {
        operation,
        attempt,
        errorName: (error as { name?: string })?.name,
      }),
  });
  let strategy: RotationStrategy;
  let passwordDefaults: RotationStrategy['passwordDefaults'];
  if (isKind(kindOrStrategy)) {
    kindOrStrategy.validateEnvironment(env);
    strategy = kindOrStrategy.createStrategy({
      env,
      connectTimeoutMs: connectTimeoutFromEnv(env),
      adminSecrets: new GatewayAdminSecrets(gateway),
    });
    passwordDefaults = kindOrStrategy.passwordDefaults ?? strategy.passwordDefaults;
  } else {
    strategy = kindOrStrategy;
    passwordDefaults = strategy.passwordDefaults;
  }
  let invocationStart: number | undefined;
  const logger =
    options.logger ??
    createRotationLogger({
      serviceName: options.serviceName ?? strategy.name,
      registry,
      elapsedMs: () =>
        invocationStart === undefined ? undefined : Math.round(performance.now() - invocationStart),
    });
  const metrics =
    options.metrics === undefined
      ? new StepMetrics(env, options.serviceName ?? strategy.name)
      : options.metrics;
  const freeze = {
    stack: stackFreezeReader({
      env,
      region: () => client.config.region(),
      credentials: () => client.config.credentials(),
    }),
  };
  const policy = passwordPolicyFromEnv(env, passwordDefaults);
  const passwords = passwordSourceFromEnv(env, policy, gateway);
  const targets = options.targetWriter ?? lazyTargetWriter(env);

  const handleStep = async (
    rawEvent: unknown,
    _context: Context,
    { signal }: { signal: AbortSignal },
  ): Promise<void> => {
    const started = performance.now();
    invocationStart = started;
    const durationMs = () => Math.round(performance.now() - started);
    // The redaction scope is the step's own lifetime, not middy's: after middy's early
    // timeout the step keeps running (and may still log or fail), so its values must stay
    // registered until it has ended and its error has been scrubbed.
    let step = 'invalidEvent';
    let secretId = '';
    const measure = (result: { outcome?: StepOutcome; error?: unknown }) =>
      metrics?.record({
        strategy: strategy.name,
        step,
        secretId,
        durationMs: durationMs(),
        ...result,
      });
    await registry.runInScope(async () => {
      try {
        const event = validateRotationEvent(rawEvent);
        step = event.Step;
        secretId = event.SecretId;
        registry.register(event.RotationToken);
        logger.appendKeys({
          step: event.Step,
          secretId: event.SecretId,
          clientRequestToken: event.ClientRequestToken,
          strategy: strategy.name,
        });
        logger.info('Rotation step started');
        const outcome = await runRotationStep({
          event,
          strategy,
          gateway,
          passwords,
          registry,
          logger,
          signal,
          ...(freeze.stack ? { freeze: { stack: freeze.stack } } : {}),
          targets,
        });
        logger.info('Rotation step finished', { outcome, durationMs: durationMs() });
        measure({ outcome });
      } catch (error) {
        scrubError(error, registry);
        logger.error('Rotation step failed', { durationMs: durationMs(), error: error as Error });
        measure({ error });
        throw error;
      } finally {
        invocationStart = undefined;
      }
    });
  };

  return middy(handleStep, { timeoutEarlyInMillis: options.timeoutEarlyInMillis ?? 1_000 })
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(scrubThrownError(registry));
}
