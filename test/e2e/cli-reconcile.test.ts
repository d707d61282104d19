import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useApiKeyTwin } from '../helpers/apiKeyTwin.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from './cli-harness.js';

// `npx rotator reconcile` as a subprocess against the local twin, for a provider-issued
// API-key secret whose provider (on loopback) lists its keys.

const setup = useApiKeyTwin();

async function rotatedApiKeySecret() {
  const fixture = await setup();
  for (let i = 0; i < 2; i++) expect((await fixture.rotate())?.state).toBe('Succeeded');
  return fixture;
}

describe('rotator reconcile', () => {
  it(
    'reports a healthy secret with exit 0, then a key stranded at the provider with exit 1, never printing a key',
    async () => {
      const { server, twin, name, secrets } = await rotatedApiKeySecret();

      const healthy = await runCli(twin, ['reconcile', name, '--json']);
      expect(healthy.code, healthy.stderr).toBe(0);
      const report = JSON.parse(healthy.stdout) as { healthy: boolean; keys: { status: string }[] };
      expect(report.healthy).toBe(true);
      expect(report.keys.map((k) => k.status).sort()).toEqual(['current', 'previous']);

      // A key a failed clean-up left behind: rotator's label, referenced by no version.
      const stranded = server.seedKey(`rotator-${randomBytes(8).toString('hex')}`);
      const json = await runCli(twin, ['reconcile', name, '--json']);
      expect(json.code).toBe(1);
      expect((JSON.parse(json.stdout) as { stranded: string[] }).stranded).toEqual([stranded.id]);

      const text = await runCli(twin, ['reconcile', name]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`stranded: key ${stranded.id}`);
      for (const run of [healthy, json, text]) {
        for (const secret of secrets()) {
          expect(run.stdout.includes(secret) || run.stderr.includes(secret)).toBe(false);
        }
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
