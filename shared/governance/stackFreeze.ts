import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { SignatureV4 } from '@smithy/signature-v4';
import { ConfigurationError, RotationError } from '../errors.js';

/** Environment variable naming the stack-wide freeze parameter (template `FreezeParameterName`). */
export const FREEZE_PARAMETER_ENV = 'FREEZE_PARAMETER_NAME';

/** How long a read of the parameter is reused by a warm container. */
const CACHE_MS = 60_000;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 (and its HMAC) for SigV4, from Node's crypto. */
class Sha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** What {@link stackFreezeReader} needs to sign its one call. */
export interface StackFreezeOptions {
  env: NodeJS.ProcessEnv;
  region: () => Promise<string>;
  credentials: () => Promise<AwsCredentialIdentity>;
}

/**
 * Reads the stack-wide freeze declaration: one SSM `GetParameter` of the parameter the
 * environment names (a `String`; an empty value or `none` declares no window). One signed
 * HTTPS call, not `@aws-sdk/client-ssm`: that client adds about 200 KB to every bundle for a
 * single operation. Endpoint: `AWS_ENDPOINT_URL_SSM`, then `AWS_ENDPOINT_URL` (the local
 * twin), else the Region's. A missing parameter is a typed error naming it, so a mistyped
 * name fails loudly rather than freezing nothing. Returns undefined when no parameter is
 * configured.
 */
export function stackFreezeReader(
  options: StackFreezeOptions,
): (() => Promise<{ name: string; declaration: string } | undefined>) | undefined {
  const name = options.env[FREEZE_PARAMETER_ENV];
  if (name === undefined || name === '') return undefined;
  if (!/^[a-zA-Z0-9_.\-/]{1,2048}$/.test(name)) {
    throw new ConfigurationError(FREEZE_PARAMETER_ENV, 'must be an SSM parameter name');
  }
  let cached: { at: number; declaration: string } | undefined;
  return async () => {
    // A negative age is a wall clock stepped back (NTP): read again rather than trust it.
    const age = cached ? Date.now() - cached.at : -1;
    if (cached && age >= 0 && age < CACHE_MS) return { name, declaration: cached.declaration };
    const value = await getParameter(options, name);
    // Kept as read by the check: a cached `none` is no window too.
    const declaration = value === 'none' ? '' : value;
    cached = { at: Date.now(), declaration };
    return { name, declaration };
  };
}

async function getParameter(options: StackFreezeOptions, name: string): Promise<string> {
  const region = await options.region();
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  const endpoint = new URL(
    options.env.AWS_ENDPOINT_URL_SSM ||
      options.env.AWS_ENDPOINT_URL ||
      `https://ssm.${region}.${suffix}`,
  );
  const body = JSON.stringify({ Name: name });
  const signer = new SignatureV4({
    service: 'ssm',
    region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path: endpoint.pathname,
    headers: {
      host: endpoint.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AmazonSSM.GetParameter',
    },
    body,
  });
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body,
    signal: AbortSignal.timeout(5_000),
  });
  const payload = (await response.json().catch(() => ({}))) as {
    Parameter?: { Value?: string };
    __type?: string;
  };
  if (!response.ok || typeof payload.Parameter?.Value !== 'string') {
    const code = String(payload.__type ?? response.status)
      .split('#')
      .pop();
    throw new RotationError(
      `Could not read the freeze parameter ${name} (${FREEZE_PARAMETER_ENV}): SSM answered ${code}`,
    );
  }
  return payload.Parameter.Value;
}
