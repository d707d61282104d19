import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigurationError } from '../../shared/errors.js';
import {
  generateLocalPassword,
  type PasswordPolicy,
  validatePasswordPolicy,
} from '../../shared/secrets/passwords.js';
import { CLOUDTRAIL_PATH, type CloudTrail } from './cloudtrail.js';
import {
  internalServiceError,
  invalidParameter,
  ServiceException,
  unsupportedOperation,
} from './errors.js';
import { type Input, optionalBoolean, optionalInteger, optionalString } from './input.js';
import { requestRegion } from './regions.js';
import type { LocalLogger, RotationRunner } from './rotation.js';
import type { SecretsStore } from './store.js';

/** What the request handler works on. */
export interface ServerDependencies {
  store: SecretsStore;
  runner: RotationRunner;
  /** Makes the store's current state durable; awaited before acknowledging a write. */
  persist: () => Promise<void>;
  log?: LocalLogger;
  /** The audit trail every call (and the rotation events it causes) is recorded in. */
  trail?: CloudTrail;
  /** Calls still to be refused with ThrottlingException, by operation (`POST /_local/throttle`). */
  throttle?: Map<string, number>;
}

const TARGET_PREFIX = 'secretsmanager.';
const MAX_BODY = 1_048_576;

/** An operation, given the Region the request is signed for. */
type Operation = (
  deps: ServerDependencies,
  input: Input,
  region: string,
) => Promise<Record<string, unknown>>;

function write(run: (store: SecretsStore, input: Input) => Record<string, unknown>): Operation {
  return async (deps, input, region) => {
    const output = run(deps.store.inRegion(region, 'write'), input);
    await durably(deps);
    return output;
  };
}

function read(run: (store: SecretsStore, input: Input) => Record<string, unknown>): Operation {
  return async (deps, input, region) => run(deps.store.inRegion(region, 'read'), input);
}

async function durably(deps: ServerDependencies): Promise<void> {
  try {
    await deps.persist();
  } catch (error) {
    deps.log?.({ level: 'error', msg: 'persisting state failed', error: (error as Error).name });
    throw internalServiceError('The local Secrets Manager could not persist its state.');
  }
}

/** GetRandomPassword: defaults and parameters as in the API reference. */
export function getRandomPassword(input: Input): Record<string, unknown> {
  const policy: PasswordPolicy = {
    length: optionalInteger(input, 'PasswordLength') ?? 32,
    excludeCharacters: optionalString(input, 'ExcludeCharacters', { max: 4096 }) ?? '',
    excludeNumbers: optionalBoolean(input, 'ExcludeNumbers') ?? false,
    excludePunctuation: optionalBoolean(input, 'ExcludePunctuation') ?? false,
    excludeUppercase: optionalBoolean(input, 'ExcludeUppercase') ?? false,
    excludeLowercase: optionalBoolean(input, 'ExcludeLowercase') ?? false,
    includeSpace: optionalBoolean(input, 'IncludeSpace') ?? false,
    requireEachIncludedType: optionalBoolean(input, 'RequireEachIncludedType') ?? true,
  };
  try {
    validatePasswordPolicy(policy);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      throw invalidParameter(
        `GetRandomPassword: ${error.message.replace(/^Invalid configuration: /, '')}`,
      );
    }
    throw error;
  }
  return { RandomPassword: generateLocalPassword(policy) };
}

const OPERATIONS: Record<string, Operation> = {
  CreateSecret: write((s, i) => s.createSecret(i)),
  GetSecretValue: read((s, i) => s.getSecretValue(i)),
  PutSecretValue: write((s, i) => s.putSecretValue(i)),
  UpdateSecret: write((s, i) => s.updateSecret(i)),
  DescribeSecret: read((s, i) => s.describeSecret(i)),
  ListSecrets: read((s, i) => s.listSecrets(i)),
  ListSecretVersionIds: read((s, i) => s.listSecretVersionIds(i)),
  UpdateSecretVersionStage: write((s, i) => s.updateSecretVersionStage(i)),
  CancelRotateSecret: write((s, i) => s.cancelRotateSecret(i)),
  DeleteSecret: write((s, i) => s.deleteSecret(i)),
  RestoreSecret: write((s, i) => s.restoreSecret(i)),
  TagResource: write((s, i) => s.tagResource(i)),
  UntagResource: write((s, i) => s.untagResource(i)),
  PutResourcePolicy: write((s, i) => s.putResourcePolicy(i)),
  GetResourcePolicy: read((s, i) => s.getResourcePolicy(i)),
  DeleteResourcePolicy: write((s, i) => s.deleteResourcePolicy(i)),
  ValidateResourcePolicy: read((s, i) => s.validateResourcePolicy(i)),
  BatchGetSecretValue: read((s, i) => s.batchGetSecretValue(i)),
  ReplicateSecretToRegions: write((s, i) => s.replicateSecretToRegions(i)),
  RemoveRegionsFromReplication: write((s, i) => s.removeRegionsFromReplication(i)),
  StopReplicationToReplica: write((s, i) => s.stopReplicationToReplica(i)),
  GetRandomPassword: async (_deps, input) => getRandomPassword(input),
  RotateSecret: async (deps, input, region) => {
    const outcome = deps.store.inRegion(region, 'write').rotateSecret(input);
    if (outcome.kind === 'refused') {
      if (outcome.resume) {
        // "That rotation will be reattempted": the refusal itself re-runs the pending one.
        const saved = durably(deps);
        deps.runner.start(outcome.resume, saved);
        await saved;
      }
      throw outcome.error;
    }
    const saved = durably(deps);
    // The function runs after the response is on its way, as with the service.
    deps.runner.start(outcome.job, saved);
    await saved;
    return outcome.response;
  },
};

/** Local, non-AWS endpoint: `GET /_local/rotations` lists every secret's latest rotation. */
export const ROTATIONS_PATH = '/_local/rotations';

function rotationReport(store: SecretsStore): Record<string, unknown>[] {
  return store
    .all()
    .filter((secret) => secret.rotation !== undefined)
    .map((secret) => ({ ARN: secret.arn, Name: secret.name, ...store.rotationStatus(secret) }));
}

/**
 * Local, non-AWS endpoint: `POST /_local/throttle` with `{"Operations": ["RotateSecret"],
 * "Count": 5}` makes the next 5 calls of those operations answer `ThrottlingException`
 * (HTTP 400, "Rate exceeded"), as the service does past its quota; for tests of clients'
 * backoff. `{"Count": 0}` clears it.
 */
export const THROTTLE_PATH = '/_local/throttle';

async function configureThrottle(req: IncomingMessage, deps: ServerDependencies) {
  const body = JSON.parse((await readBody(req)) || '{}') as {
    Operations?: unknown;
    Count?: unknown;
  };
  const count = Number(body.Count ?? 0);
  const operations = Array.isArray(body.Operations) ? body.Operations.map(String) : [];
  if (!Number.isInteger(count) || count < 0 || (count > 0 && operations.length === 0)) {
    throw new ServiceException('ValidationException', 'Expected {"Operations": [...], "Count": n}');
  }
  deps.throttle ??= new Map();
  if (count === 0) deps.throttle.clear();
  for (const operation of operations) deps.throttle.set(operation, count);
  return { Throttle: Object.fromEntries(deps.throttle) };
}

/** The operations the twin implements. */
export const SUPPORTED_OPERATIONS: readonly string[] = Object.keys(OPERATIONS);

/**
 * Secrets Manager operations the twin knows and does not implement: they answer
 * `UnsupportedOperationException` (HTTP 400) rather than `UnknownOperationException`, which
 * stays for names the service does not have. Each is listed in docs/local-twin.md; a test
 * fails when an operation of the SDK's client is in neither list, or in both.
 */
export const UNSUPPORTED_OPERATIONS: readonly string[] = [];

function send(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(data),
    'x-amzn-RequestId': requestId,
  });
  res.end(data);
}

function sendError(res: ServerResponse, error: ServiceException, requestId: string): void {
  // Secrets Manager's shape; both spellings of the message so every SDK finds it.
  send(
    res,
    error.statusCode,
    { __type: error.type, message: error.message, Message: error.message },
    requestId,
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new ServiceException('SerializationException', 'Request body too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The HTTP handler: Secrets Manager's JSON 1.1 protocol (`POST /`, `X-Amz-Target:
 * secretsmanager.<Operation>`). Any SigV4 signature, or none, is accepted: credentials are
 * not checked. Logs operation, secret id, status and duration, never bodies.
 */
export function createRequestHandler(deps: ServerDependencies) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === ROTATIONS_PATH) {
      // Local extension for operators: the SDK and CLI drop unknown response fields.
      send(res, 200, { Rotations: rotationReport(deps.store) }, requestId);
      return;
    }
    if (req.method === 'POST' && (req.url ?? '').split('?')[0] === THROTTLE_PATH) {
      try {
        send(res, 200, await configureThrottle(req, deps), requestId);
      } catch (error) {
        sendError(
          res,
          error instanceof ServiceException
            ? error
            : new ServiceException('ValidationException', 'The body is not JSON'),
          requestId,
        );
      }
      return;
    }
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === CLOUDTRAIL_PATH) {
      send(res, 200, { Events: deps.trail?.events() ?? [] }, requestId);
      return;
    }
    const started = Date.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : target;
    let status = 200;
    let secretId: string | undefined;
    let input: Input = {};
    const audit = (errorCode?: string) => {
      if (!deps.trail || !OPERATIONS[operation]) return;
      const secret = secretId === undefined ? undefined : deps.store.find(secretId);
      deps.trail.apiCall({
        operation,
        region,
        input,
        requestId,
        ...(secret ? { arn: secret.arn } : {}),
        ...(errorCode ? { errorCode } : {}),
      });
      // A write may have abandoned a rotation (PutSecretValue, UpdateSecretVersionStage).
      deps.trail.observe(secret);
    };
    // Unsigned requests use the twin's default Region.
    const region = requestRegion(req.headers) ?? deps.store.region;
    try {
      const raw = await readBody(req);
      const run = OPERATIONS[operation];
      const throttled = deps.throttle?.get(operation) ?? 0;
      if (run && throttled > 0) {
        deps.throttle?.set(operation, throttled - 1);
        throw new ServiceException('ThrottlingException', 'Rate exceeded');
      }
      if (req.method === 'POST' && !run && UNSUPPORTED_OPERATIONS.includes(operation)) {
        throw unsupportedOperation(operation);
      }
      if (req.method !== 'POST' || !run) {
        throw new ServiceException(
          'UnknownOperationException',
          `Unknown operation: ${operation || '(none)'}`,
        );
      }
      try {
        const parsed: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        input = parsed as Input;
      } catch {
        throw new ServiceException(
          'SerializationException',
          'The request body is not a JSON object.',
        );
      }
      secretId =
        typeof input.SecretId === 'string'
          ? input.SecretId
          : typeof input.Name === 'string'
            ? input.Name
            : undefined;
      const output = await run(deps, input, region);
      send(res, 200, output, requestId);
      audit();
    } catch (error) {
      const serviceError =
        error instanceof ServiceException
          ? error
          : internalServiceError('An error occurred on the server side.');
      if (!(error instanceof ServiceException)) {
        deps.log?.({
          level: 'error',
          msg: 'unexpected error',
          operation,
          error: (error as Error)?.name,
        });
      }
      status = serviceError.statusCode;
      sendError(res, serviceError, requestId);
      audit(serviceError.type);
      deps.log?.({
        level: 'info',
        msg: 'request',
        operation,
        region,
        secretId,
        status,
        errorType: serviceError.type,
        ms: Date.now() - started,
      });
      return;
    }
    deps.log?.({
      level: 'info',
      msg: 'request',
      operation,
      region,
      secretId,
      status,
      ms: Date.now() - started,
    });
  };
}
