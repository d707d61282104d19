import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { GatewayAdminSecrets } from '../../shared/secrets/AdminSecrets.js';
import { SecretsGateway } from '../../shared/secrets/SecretsGateway.js';
import { randomPassword } from '../helpers/credentials.js';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';

/** An admin secret and a reader with an injected clock; `reads()` counts GetSecretValue. */
function rig() {
  const sm = new InMemorySecretsManager('admin');
  sm.seedCurrent(JSON.stringify({ username: 'admin', password: randomPassword() }));
  const clock = { now: 3_600_000 };
  const reader = new GatewayAdminSecrets(new SecretsGateway({ client: sm.client, cache: null }), {
    maxAgeMs: 300_000,
    now: () => clock.now,
  });
  const reads = () => sm.mock.commandCalls(GetSecretValueCommand).length;
  return { sm, clock, reader, reads };
}

describe('GatewayAdminSecrets: the admin secret cached by a warm function', () => {
  it('is read once within its maximum age, again after it, and at once when forced', async () => {
    const { sm, clock, reader, reads } = rig();
    await reader.current(sm.arn);
    clock.now += 299_000;
    await reader.current(sm.arn);
    expect(reads()).toBe(1);
    clock.now += 2_000;
    await reader.current(sm.arn);
    expect(reads()).toBe(2);
    await reader.current(sm.arn, { forceFetch: true });
    expect(reads()).toBe(3);
  });

  it('is read again when the wall clock was stepped back (NTP): a negative age proves nothing', async () => {
    const { sm, clock, reader, reads } = rig();
    await reader.current(sm.arn);
    clock.now -= 3_600_000;
    await reader.current(sm.arn);
    expect(reads()).toBe(2);
  });
});
