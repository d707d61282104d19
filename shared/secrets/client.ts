import {
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';

/**
 * Resolves the Secrets Manager endpoint override, most specific first:
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` (SDK standard, service-specific), then
 * `SECRETS_MANAGER_ENDPOINT` (set by AWS's hosted rotation and SAR apps), then
 * `AWS_ENDPOINT_URL` (SDK standard, global). `undefined` means the SDK's regional default.
 */
export function secretsManagerEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
    env.SECRETS_MANAGER_ENDPOINT,
    env.AWS_ENDPOINT_URL,
  ];
  return candidates.find((value) => value !== undefined && value.trim() !== '')?.trim();
}

/**
 * Builds the Secrets Manager client a rotation function uses. The SDK's own retries are off
 * (`maxAttempts: 1`) because the gateway retries throttling and transient faults itself,
 * with the function's abort signal; two retry layers would multiply attempts.
 */
export function createSecretsManagerClient(
  env: NodeJS.ProcessEnv = process.env,
  overrides: SecretsManagerClientConfig = {},
): SecretsManagerClient {
  const endpoint = secretsManagerEndpoint(env);
  return new SecretsManagerClient({
    maxAttempts: 1,
    ...(endpoint ? { endpoint } : {}),
    ...overrides,
  });
}
