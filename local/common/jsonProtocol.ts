import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { internalServiceError, ServiceException } from '../secrets-manager/errors.js';
import type { Input } from '../secrets-manager/input.js';
import type { LocalLogger } from '../secrets-manager/rotation.js';

/** What an operation of a JSON 1.1 service receives besides its input. */
export interface JsonRequestContext {
  /** The Region the request is signed for (the twin's default when unsigned). */
  region: string;
}

/** One operation: its output, or a {@link ServiceException}. */
export type JsonOperation = (
  input: Input,
  context: JsonRequestContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** A JSON 1.1 service (KMS, SSM): its target prefix and operations. */
export interface JsonService {
  /** `X-Amz-Target` prefix, e.g. `TrentService.` for KMS. */
  prefix: string;
  /** Name in log lines. */
  name: string;
  operations: Record<string, JsonOperation>;
  /**
   * The SDK v3 client package of the service (`@aws-sdk/client-kms`): an operation it has a
   * command for and the twin does not implement answers `UnsupportedOperationException`
   * rather than `UnknownOperationException`, which stays for names the service does not have.
   */
  sdkModule?: string;
  /** The input member naming the resource, for log lines (never a value). */
  resourceMember?: (input: Input) => string | undefined;
}

const MAX_BODY = 1_048_576;

/** Writes a JSON 1.1 response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(data),
    'x-amzn-RequestId': requestId,
  });
  res.end(data);
}

async function readJsonBody(req: IncomingMessage): Promise<Input> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new ServiceException('SerializationException', 'Request body too large.');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Input;
  } catch {
    throw new ServiceException('SerializationException', 'The request body is not a JSON object.');
  }
}

/** Whether the service's SDK client has a command for `operation`. */
async function isServiceOperation(service: JsonService, operation: string): Promise<boolean> {
  if (!service.sdkModule || !/^[A-Z][A-Za-z0-9]+$/.test(operation)) return false;
  const client = (await import(service.sdkModule)) as Record<string, unknown>;
  return typeof client[`${operation}Command`] === 'function';
}

/**
 * The HTTP handler of a JSON 1.1 service (`POST /`, `X-Amz-Target: <prefix><Operation>`).
 * Errors are `{"__type": ..., "message": ...}` as KMS and SSM send them. Logs operation,
 * resource name, status and duration, never bodies.
 */
export function createJsonServiceHandler(
  service: JsonService,
  defaultRegion: string,
  regionOf: (req: IncomingMessage) => string | undefined,
  log?: LocalLogger,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = Date.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.slice(service.prefix.length);
    const region = regionOf(req) ?? defaultRegion;
    let resource: string | undefined;
    let status = 200;
    let errorType: string | undefined;
    try {
      const input = await readJsonBody(req);
      const run = service.operations[operation];
      if (req.method === 'POST' && !run && (await isServiceOperation(service, operation))) {
        throw new ServiceException(
          'UnsupportedOperationException',
          `The local twin does not implement ${service.name.toUpperCase()} ${operation} (docs/local-twin.md, "Differences from AWS").`,
        );
      }
      if (req.method !== 'POST' || !run) {
        throw new ServiceException('UnknownOperationException', `Unknown operation: ${operation}`);
      }
      resource = service.resourceMember?.(input);
      const output = await run(input, { region });
      sendJson(res, 200, output, requestId);
    } catch (error) {
      const failure =
        error instanceof ServiceException
          ? error
          : internalServiceError('An error occurred on the server side.');
      if (!(error instanceof ServiceException)) {
        log?.({
          level: 'error',
          msg: 'unexpected error',
          service: service.name,
          operation,
          error: (error as Error)?.name,
        });
      }
      status = failure.statusCode;
      errorType = failure.type;
      sendJson(res, status, { __type: failure.type, message: failure.message }, requestId);
    }
    log?.({
      level: 'info',
      msg: 'request',
      service: service.name,
      operation,
      region,
      resource,
      status,
      ...(errorType ? { errorType } : {}),
      ms: Date.now() - started,
    });
  };
}
