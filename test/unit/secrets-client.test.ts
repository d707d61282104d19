import { describe, expect, it } from 'vitest';
import { createSecretsManagerClient, secretsManagerEndpoint } from '../../shared/secrets/client.js';
import { isRetryable, withRetry } from '../../shared/secrets/retry.js';

describe('Secrets Manager endpoint resolution', () => {
  it.each([
    [{}, undefined],
    [{ AWS_ENDPOINT_URL: 'http://global:1' }, 'http://global:1'],
    [
      { SECRETS_MANAGER_ENDPOINT: 'https://vpce.example', AWS_ENDPOINT_URL: 'http://global:1' },
      'https://vpce.example',
    ],
    [
      {
        AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://sm:2',
        SECRETS_MANAGER_ENDPOINT: 'https://vpce.example',
      },
      'http://sm:2',
    ],
    [{ SECRETS_MANAGER_ENDPOINT: '  ' }, undefined],
  ])('%j resolves to %s', (env, expected) => {
    expect(secretsManagerEndpoint(env)).toBe(expected);
  });

  it('builds a client pointed at the override, with SDK retries off (the gateway retries)', async () => {
    const client = createSecretsManagerClient(
      { SECRETS_MANAGER_ENDPOINT: 'http://127.0.0.1:9/' },
      { region: 'eu-west-1' },
    );
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe('127.0.0.1');
    expect(await client.config.maxAttempts()).toBe(1);
  });
});

describe('retry', () => {
  it.each([
    [{ name: 'ThrottlingException' }, true],
    [{ name: 'InternalServiceError' }, true],
    [{ name: 'X', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'X', $retryable: {} }, true],
    [{ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }, false],
    [{ name: 'AccessDeniedException' }, false],
    ['string', false],
  ])('isRetryable(%j) is %s', (error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });

  it('stops retrying once the signal aborts', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const run = withRetry(
      async () => {
        attempts += 1;
        controller.abort();
        throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
      },
      { policy: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 50 }, signal: controller.signal },
    );
    await expect(run).rejects.toThrow('slow down');
    expect(attempts).toBe(1);
  });
});
