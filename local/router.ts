import type { IncomingMessage, ServerResponse } from 'node:http';
import { createJsonServiceHandler, type JsonService } from './common/jsonProtocol.js';
import { requestRegion } from './secrets-manager/regions.js';
import type { LocalLogger } from './secrets-manager/rotation.js';

/** A request handler of one service. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** What the twin's one endpoint serves. */
export interface TwinServices {
  /** Secrets Manager: `X-Amz-Target: secretsmanager.*`, other targets and `/_local/*`. */
  secretsManager: RequestHandler;
  /** JSON 1.1 services routed by their `X-Amz-Target` prefix (KMS, SSM). */
  json: JsonService[];
  /** S3 REST (path-style): every request without `X-Amz-Target`. */
  s3?: RequestHandler;
  defaultRegion: string;
  log?: LocalLogger;
}

/**
 * One endpoint for every service, as the SDK's per-service endpoints can all point at it:
 * JSON 1.1 requests go by their `X-Amz-Target` prefix (`TrentService.` to KMS, `AmazonSSM.`
 * to Parameter Store, anything else to Secrets Manager, which answers
 * `UnknownOperationException` for names it does not have); requests without a target are S3
 * REST, except the twin's own `/_local/` paths.
 */
export function createTwinHandler(services: TwinServices): RequestHandler {
  const regionOf = (req: IncomingMessage) => requestRegion(req.headers);
  const json = services.json.map((service) => ({
    prefix: service.prefix,
    handle: createJsonServiceHandler(service, services.defaultRegion, regionOf, services.log),
  }));
  return async (req, res) => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target !== '') {
      const service = json.find((s) => target.startsWith(s.prefix));
      return service ? service.handle(req, res) : services.secretsManager(req, res);
    }
    if ((req.url ?? '').startsWith('/_local/') || !services.s3) {
      return services.secretsManager(req, res);
    }
    return services.s3(req, res);
  };
}
