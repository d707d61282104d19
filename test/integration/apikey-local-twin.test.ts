import { ApiKeyVerifier } from 'rotator/consumer';
import { describe, expect, it } from 'vitest';
import { reconcileApiKeys } from '../../shared/strategies/apikey/reconcile.js';
import { useApiKeyTwin } from '../helpers/apiKeyTwin.js';
import { captureLogs } from '../helpers/captureLogs.js';

// Everything real but AWS: the local Secrets Manager twin invokes the API-key handler as the
// service does (RotateSecret, four steps, RotationToken), over the AWS SDK and HTTP; the
// admin credential is read through Powertools from the twin; the provider is on loopback.

const logs = captureLogs();
const setup = useApiKeyTwin();

describe('API-key rotation through the local Secrets Manager twin', () => {
  it('three RotateSecret calls: two live keys, consumers accept exactly current and previous', async () => {
    const { server, client, name, rotate, keyOf, first } = await setup();
    const generations = [first.key];
    for (let i = 0; i < 3; i++) {
      expect((await rotate())?.state).toBe('Succeeded');
      generations.push((await keyOf('AWSCURRENT')).apiKey);
    }

    const current = await keyOf('AWSCURRENT');
    const previous = await keyOf('AWSPREVIOUS');
    expect(
      server
        .liveKeys()
        .map((k) => k.id)
        .sort(),
    ).toEqual([current.keyId, previous.keyId].sort());

    const verifier = new ApiKeyVerifier({ secretId: name, client });
    expect(await verifier.verify(generations[3])).toEqual({ valid: true, stage: 'AWSCURRENT' });
    expect(await verifier.verify(generations[2])).toEqual({ valid: true, stage: 'AWSPREVIOUS' });
    expect((await verifier.verify(generations[1])).valid).toBe(false);
    expect((await verifier.verify(generations[0])).valid).toBe(false);

    const report = await reconcileApiKeys({ secretId: name, client });
    expect(report.healthy).toBe(true);
    logs.assertNoneContain([...[...server.keys.values()].map((k) => k.key), server.adminToken]);
  });

  it('a provider outage fails the rotation; the next RotateSecret completes without orphans', async () => {
    const { server, twin, name, rotate, keyOf } = await setup();
    expect((await rotate())?.state).toBe('Succeeded');
    // One attempt makes one test call (no HTTP retries, no propagation window declared).
    server.failNext('test', '5xx');

    const failed = await rotate();
    expect(failed?.state).not.toBe('Succeeded');
    // As in AWS, the next RotateSecret is refused and re-attempts the pending rotation, with
    // the same token: its key was minted already and must not be minted again.
    const mintsBefore = server.mintCount();
    await expect(rotate()).rejects.toThrow(/previous rotation isn't complete/);
    expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');
    expect(server.mintCount()).toBe(mintsBefore);

    const current = await keyOf('AWSCURRENT');
    expect(server.authenticates(current.apiKey)).toBe(true);
    const previous = await keyOf('AWSPREVIOUS');
    expect(
      server
        .liveKeys()
        .map((k) => k.id)
        .sort(),
    ).toEqual([current.keyId, previous.keyId].sort());
  });
});
