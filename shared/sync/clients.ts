import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SyncClients } from './TargetWriter.js';

function endpointOf(env: NodeJS.ProcessEnv, specific: string): string | undefined {
  return [env[specific], env.AWS_ENDPOINT_URL]
    .find((value) => value !== undefined && value.trim() !== '')
    ?.trim();
}

/**
 * SSM, S3 and KMS clients built on first use, from the endpoint overrides the SDK reads
 * (`AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_KMS`, then
 * `AWS_ENDPOINT_URL`) taken from `env`. An overridden S3 endpoint is addressed path-style
 * (the local twin, other emulators). A secret without sync targets builds none of them.
 */
export function lazySyncClients(env: NodeJS.ProcessEnv = process.env): SyncClients {
  let ssm: SSMClient | undefined;
  let s3: S3Client | undefined;
  let kms: KMSClient | undefined;
  return {
    ssm: () => {
      const endpoint = endpointOf(env, 'AWS_ENDPOINT_URL_SSM');
      ssm ??= new SSMClient(endpoint ? { endpoint } : {});
      return ssm;
    },
    s3: () => {
      const endpoint = endpointOf(env, 'AWS_ENDPOINT_URL_S3');
      s3 ??= new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
      return s3;
    },
    kms: () => {
      const endpoint = endpointOf(env, 'AWS_ENDPOINT_URL_KMS');
      kms ??= new KMSClient(endpoint ? { endpoint } : {});
      return kms;
    },
  };
}
