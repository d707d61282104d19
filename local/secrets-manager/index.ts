import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalKms } from '../kms/index.js';
import { createTwinHandler } from '../router.js';
import { LocalS3 } from '../s3/index.js';
import { LocalParameterStore } from '../ssm/index.js';
import { type Clock, ManualClock, systemClock } from './clock.js';
import { CloudTrail } from './cloudtrail.js';
import { loadMasterKey, parseMasterKey, StateFileError } from './masterKey.js';
import type { RotationRecord, SecretRecord } from './model.js';
import { StateFile } from './persistence.js';
import { requestRegion } from './regions.js';
import { type LocalLogger, type RotationRegistry, RotationRunner } from './rotation.js';
import { RotationScheduler } from './scheduler.js';
import { createRequestHandler } from './server.js';
import { SecretsStore } from './store.js';

export type { Clock } from './clock.js';
export { ManualClock, systemClock } from './clock.js';
export type { LocalLogger, RotationFunction, RotationRegistry } from './rotation.js';
export { resolveRotationFunction } from './rotation.js';

/** Where the twin listens; handed to registry factories so in-process functions can call it. */
export interface LocalEndpoint {
  url: string;
  region: string;
  accountId: string;
  /** A client pointed at the twin (endpoint, region, fake credentials). */
  client: SecretsManagerClient;
}

/** Options of {@link startLocalSecretsManager}. */
export interface LocalSecretsManagerOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Persist to this file (encrypted); in memory when absent. */
  statePath?: string;
  /** Master key (32 bytes, or its base64); else `ROTATOR_LOCAL_MASTER_KEY`, else `masterKeyFile`. */
  masterKey?: Buffer | string;
  /** Key file to read (or, with `generateMasterKey`, create with mode 0600). */
  masterKeyFile?: string;
  generateMasterKey?: boolean;
  /** Rotation functions, or a factory receiving the twin's endpoint and client. */
  registry?:
    | RotationRegistry
    | ((endpoint: LocalEndpoint) => RotationRegistry | Promise<RotationRegistry>);
  /** Time source; pass a {@link ManualClock} to drive schedules from tests. */
  clock?: Clock;
  region?: string;
  accountId?: string;
  /** Lambda timeout per rotation step (default 30 s). */
  functionTimeoutMs?: number;
  /** Scheduler polling interval with the wall clock (default 1 s). */
  schedulerIntervalMs?: number;
  /** Scheduled rotations running at once, at most (default 8); the rest wait their turn. */
  schedulerConcurrency?: number;
  log?: LocalLogger;
}

/** A running twin. */
export interface LocalSecretsManager extends LocalEndpoint {
  port: number;
  clock: Clock;
  registry: RotationRegistry;
  /** The state model; exposed for seeding and white-box assertions. */
  store: SecretsStore;
  /** The KMS served on the same endpoint (`X-Amz-Target: TrentService.*`). */
  kms: LocalKms;
  /** Parameter Store on the same endpoint (`X-Amz-Target: AmazonSSM.*`). */
  ssm: LocalParameterStore;
  /** S3 on the same endpoint, path-style (requests without `X-Amz-Target`). */
  s3: LocalS3;
  /** The audit trail (`GET /_local/cloudtrail`; `<state>.cloudtrail.jsonl` beside a state file). */
  trail: CloudTrail;
  /** Makes the current state durable (after direct `store` changes). */
  persist(): Promise<void>;
  rotations: {
    /** Resolves when no rotation is running. */
    settled(): Promise<void>;
    /** Waits for a secret's running rotation; returns its latest rotation record. */
    waitFor(secretId: string): Promise<RotationRecord | undefined>;
    /** The latest rotation record of a secret. */
    status(secretId: string): RotationRecord | undefined;
  };
  scheduler: { tick(): number };
  /** A new SDK client pointed at the twin, signing for `region` (default: the twin's). */
  newClient(region?: string): SecretsManagerClient;
  close(): Promise<void>;
}

/** SDK client configuration for an endpoint: fake credentials, since none are checked. */
export function localClientConfig(url: string, region: string) {
  return {
    endpoint: url,
    region,
    credentials: {
      accessKeyId: 'AKIALOCALTWIN0000000',
      secretAccessKey: 'local-twin-credentials-are-not-checked',
    },
    maxAttempts: 1,
  };
}

function masterKeyFrom(options: LocalSecretsManagerOptions): Buffer {
  if (Buffer.isBuffer(options.masterKey)) {
    if (options.masterKey.length !== 32) {
      throw new StateFileError(
        `The master key must be exactly 32 bytes (got ${options.masterKey.length}).`,
      );
    }
    return options.masterKey;
  }
  if (typeof options.masterKey === 'string') return parseMasterKey(options.masterKey);
  return loadMasterKey({
    ...(options.masterKeyFile !== undefined ? { keyFile: options.masterKeyFile } : {}),
    generate: options.generateMasterKey ?? false,
  });
}

/**
 * Starts a local Secrets Manager on 127.0.0.1 and resolves once it listens. Rotation
 * functions named by RotationLambdaARN run in process, from `registry`.
 */
export async function startLocalSecretsManager(
  options: LocalSecretsManagerOptions = {},
): Promise<LocalSecretsManager> {
  const clock = options.clock ?? systemClock;
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const masterKey = options.statePath ? masterKeyFrom(options) : undefined;
  const stateFile =
    options.statePath && masterKey ? new StateFile(options.statePath, masterKey) : undefined;
  // KMS, Parameter Store and S3 keep their state beside the Secrets Manager state file.
  const storage = (service: string) =>
    options.statePath && masterKey
      ? {
          path: `${options.statePath}.${service}`,
          masterKey,
          ...(options.log ? { log: options.log } : {}),
        }
      : {};
  const kms = new LocalKms({ accountId, now: () => clock.now(), ...storage('kms') });
  const ssm = new LocalParameterStore({
    accountId,
    now: () => clock.now(),
    kms,
    ...storage('ssm'),
  });
  const s3 = new LocalS3({
    defaultRegion: region,
    now: () => clock.now(),
    kms,
    regionOf: (req) => requestRegion(req.headers),
    ...storage('s3'),
  });
  const snapshot = stateFile?.load();
  const trail = new CloudTrail({
    accountId,
    clock,
    ...(options.statePath ? { file: `${options.statePath}.cloudtrail.jsonl` } : {}),
  });
  let registry: RotationRegistry = new Map();
  let runner: RotationRunner | undefined;
  const store = new SecretsStore(
    {
      clock,
      region,
      accountId,
      functionExists: (arn) => runner?.functionExists(arn) ?? false,
      isRotationRunning: (arn) => runner?.isRunning(arn) ?? false,
    },
    snapshot,
  );
  // Replicas follow their primary: each committed change is copied to them before it is
  // saved. Internal writes save the secrets the store touched; `twin.persist()` checks every
  // secret.
  const persist = async () => {
    store.propagateReplicas();
    if (stateFile) await stateFile.save(store);
  };
  const persistAll = async () => {
    store.propagateReplicas();
    if (stateFile) await stateFile.save(store, { full: true });
  };
  runner = new RotationRunner({
    store,
    registry: () => registry,
    persist,
    trail,
    region,
    accountId,
    ...(options.functionTimeoutMs !== undefined
      ? { functionTimeoutMs: options.functionTimeoutMs }
      : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const scheduler = new RotationScheduler({
    store,
    runner,
    clock,
    persist,
    ...(options.schedulerIntervalMs !== undefined
      ? { intervalMs: options.schedulerIntervalMs }
      : {}),
    ...(options.schedulerConcurrency !== undefined
      ? { concurrency: options.schedulerConcurrency }
      : {}),
  });
  const handler = createTwinHandler({
    secretsManager: createRequestHandler({
      store,
      runner,
      persist,
      trail,
      ...(options.log ? { log: options.log } : {}),
    }),
    json: [kms.service(), ssm.service()],
    s3: s3.handler(options.log),
    defaultRegion: region,
    ...(options.log ? { log: options.log } : {}),
  });
  // Requests that arrive before the registry has loaded wait for it: a RotateSecret sent in
  // the first moments after start-up must find its function.
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const server: Server = createServer((req, res) => {
    void ready.then(() => handler(req, res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const client = new SecretsManagerClient(localClientConfig(url, region));
  const endpoint: LocalEndpoint = { url, region, accountId, client };
  try {
    registry =
      typeof options.registry === 'function'
        ? await options.registry(endpoint)
        : (options.registry ?? new Map());
  } catch (error) {
    server.close();
    server.closeAllConnections();
    throw error;
  }
  // The state on disk reflects the restart (interrupted rotations) before anything else runs.
  if (stateFile && snapshot) await persist();
  markReady();
  scheduler.start();
  const find = (id: string): SecretRecord | undefined => store.find(id);
  let closed = false;
  return {
    ...endpoint,
    port,
    clock,
    registry,
    store,
    kms,
    ssm,
    s3,
    trail,
    persist: persistAll,
    rotations: {
      settled: async () => {
        await scheduler.settled();
        await runner.settled();
      },
      waitFor: async (id) => {
        const arn = find(id)?.arn;
        return arn ? runner.waitFor(arn) : undefined;
      },
      status: (id) => find(id)?.rotation,
    },
    scheduler: { tick: () => scheduler.tick() },
    newClient: (clientRegion = region) =>
      new SecretsManagerClient(localClientConfig(url, clientRegion)),
    close: async () => {
      if (closed) return;
      closed = true;
      scheduler.stop();
      runner.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      client.destroy();
      await stateFile?.close(store);
      await trail.close();
      await ssm.close();
      await s3.close();
      await kms.close();
    },
  };
}
