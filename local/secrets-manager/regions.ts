import type { IncomingHttpHeaders } from 'node:http';
import type { SecretRecord } from './model.js';

// One twin serves every Region: a request's Region is the one its SigV4 signature is scoped
// to, and a secret belongs to the Region in its ARN. Secret ids (names, ARNs) resolve within
// the request's Region, as with the service, whose endpoints are Regional.

/** A Region code as the API spells it (API `RegionType`: `^([a-z]+-)+\d+$`). */
export const REGION_PATTERN = /^([a-z]+-)+\d+$/;

// `Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request` (SigV4 credential scope).
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/;

/**
 * The Region a request is signed for: the SigV4 `Authorization` header's credential scope.
 * `undefined` for an unsigned request (the twin then uses its default Region).
 *
 * @example
 * requestRegion({ authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261203/eu-west-1/secretsmanager/aws4_request, ...' })
 * // 'eu-west-1'
 */
export function requestRegion(headers: IncomingHttpHeaders): string | undefined {
  const match = CREDENTIAL_SCOPE.exec(String(headers.authorization ?? ''));
  return match?.[1];
}

/** The Region of a secret ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-xxxxxx`). */
export function regionOf(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** The same ARN in another Region: a replica's ARN differs from its primary's only there. */
export function arnInRegion(arn: string, region: string): string {
  const parts = arn.split(':');
  parts[3] = region;
  return parts.join(':');
}

/**
 * The `PrimaryRegion` of a secret: the primary's Region for a replica, its own for a primary
 * that has replicas, `undefined` for a secret that takes no part in replication.
 */
export function primaryRegionOf(secret: SecretRecord): string | undefined {
  if (secret.primaryRegion !== undefined) return secret.primaryRegion;
  return secret.replicas && secret.replicas.length > 0 ? regionOf(secret.arn) : undefined;
}
