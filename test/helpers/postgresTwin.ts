import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  type ReplicaRegionType,
  type SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import type { LocalEndpoint, RotationRegistry } from '../../local/secrets-manager/index.js';
import {
  type RotationHandlerOptions,
  rotationHandler,
} from '../../shared/engine/rotationHandler.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { randomPassword, randomSuffix } from './credentials.js';
import type { PostgresServer } from './servers/postgres.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

/** The function name the PostgreSQL rotation function is registered under in the twin. */
export const POSTGRES_FUNCTION = 'rotator-postgres';

/**
 * A twin registry with the production PostgreSQL function, built from its environment as
 * functions/postgres/handler.ts builds it: the admin secret is read over HTTP from the twin.
 * `onInvoke` sees every event first; `options` adds handler options (e.g. a target writer).
 */
export function postgresRegistry(
  mode: string,
  onInvoke: (event: RotationEvent) => void = () => undefined,
  options: (endpoint: LocalEndpoint) => RotationHandlerOptions = () => ({}),
): (endpoint: LocalEndpoint) => RotationRegistry {
  return (endpoint) => {
    const env = { ROTATION_MODE: mode, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url };
    const handler = rotationHandler(postgresKind, {
      client: endpoint.client,
      env,
      ...options(endpoint),
    });
    return new Map([
      [
        POSTGRES_FUNCTION,
        (event, context) => {
          onInvoke(event);
          return handler(event, context);
        },
      ],
    ]);
  };
}

/** What {@link createPostgresSecret} made. */
export interface PostgresSecret {
  name: string;
  arn: string;
  username: string;
  password: string;
}

/**
 * Creates the admin secret, a login role with a random password, and the secret of that role
 * (single-user or alternating-users, with `masterarn`), optionally replicated.
 */
export async function createPostgresSecret(
  client: SecretsManagerClient,
  server: PostgresServer,
  options: { prefix?: string; replicaRegions?: ReplicaRegionType[]; tags?: Tag[] } = {},
): Promise<PostgresSecret> {
  const suffix = randomBytes(4).toString('hex');
  const admin = await client.send(
    new CreateSecretCommand({
      Name: `rds-admin/${suffix}`,
      SecretString: JSON.stringify({
        username: server.admin.username,
        password: server.admin.password,
      }),
    }),
  );
  const username = `app_${randomSuffix()}`;
  const password = randomPassword();
  await server.query(
    `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
  );
  const name = `${options.prefix ?? 'db'}/${suffix}`;
  const created = await client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'postgres',
        ssl: false,
        masterarn: admin.ARN,
      }),
      ...(options.replicaRegions ? { AddReplicaRegions: options.replicaRegions } : {}),
      ...(options.tags ? { Tags: options.tags } : {}),
    }),
  );
  return { name, arn: created.ARN as string, username, password };
}
