import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { RotationStep, RotationStrategy } from '../../shared/engine/types.js';
import { GatewayAdminSecrets } from '../../shared/secrets/AdminSecrets.js';
import { SecretsGateway } from '../../shared/secrets/SecretsGateway.js';
import { InMemorySecretsManager, lambdaContext, rotationEvent } from './inMemorySecretsManager.js';

/** The four steps in order. */
export const STEPS: readonly RotationStep[] = [
  'createSecret',
  'setSecret',
  'testSecret',
  'finishSecret',
];

/** One secret in an in-memory Secrets Manager, rotated through the real handler. */
export interface RotationRig {
  readonly sm: InMemorySecretsManager;
  run(step: RotationStep, token: string): Promise<void>;
  /** A whole rotation; returns the token. */
  rotate(): Promise<string>;
  current(): Record<string, unknown>;
  previous(): Record<string, unknown> | undefined;
}

/** Builds a rig whose first AWSCURRENT is `initial`. */
export function rotationRig(
  strategy: RotationStrategy,
  initial: string,
  env: NodeJS.ProcessEnv = {},
): RotationRig {
  const sm = new InMemorySecretsManager();
  sm.seedCurrent(initial);
  const handler = rotationHandler(strategy, {
    client: sm.client,
    env,
    cache: null,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  const run = async (step: RotationStep, token: string) => {
    await handler(rotationEvent(step, sm.arn, token), lambdaContext());
  };
  const parse = (stage: string) => {
    const value = sm.valueOf(stage);
    return value === undefined ? undefined : (JSON.parse(value) as Record<string, unknown>);
  };
  return {
    sm,
    run,
    async rotate() {
      const token = sm.startRotation();
      for (const step of STEPS) await run(step, token);
      return token;
    },
    current: () => parse('AWSCURRENT') as Record<string, unknown>,
    previous: () => parse('AWSPREVIOUS'),
  };
}

/** An admin secret in its own in-memory Secrets Manager, read through a gateway as the engine does. */
export interface AdminSecretRig {
  readonly sm: InMemorySecretsManager;
  readonly arn: string;
  readonly source: GatewayAdminSecrets;
  /** GetSecretValue calls made for the admin secret so far. */
  fetches(): number;
  /** Replaces the admin secret's value (as an admin-secret rotation would). */
  replace(value: string): void;
}

/** Builds an {@link AdminSecretRig} holding `value`. */
export function adminSecretRig(value: string): AdminSecretRig {
  const sm = new InMemorySecretsManager('admin');
  sm.seedCurrent(value);
  const source = new GatewayAdminSecrets(new SecretsGateway({ client: sm.client, cache: null }));
  return {
    sm,
    arn: sm.arn,
    source,
    fetches: () => sm.mock.commandCalls(GetSecretValueCommand).length,
    replace(next) {
      sm.seedCurrent(next);
      // seedCurrent adds a version labelled AWSCURRENT; the older ones lose their labels.
      for (const version of sm.versions.values()) {
        if (version.value !== next) version.stages.clear();
      }
    },
  };
}
