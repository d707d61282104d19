import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type LocalSecretsManager, localClientConfig } from '../../local/secrets-manager/index.js';

/** SDK v3 clients for the twin's KMS, Parameter Store and S3 (path-style), on its one endpoint. */
export function localAwsClients(
  twin: Pick<LocalSecretsManager, 'url' | 'region'>,
  region?: string,
) {
  const config = localClientConfig(twin.url, region ?? twin.region);
  return {
    kms: new KMSClient(config),
    ssm: new SSMClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
}
