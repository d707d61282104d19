import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/rotator.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { captureOutput } from '../helpers/cliOutput.js';
import { scriptedRotationFunction } from '../helpers/localSecretsManager.js';
import { CLI_TEST_TIMEOUT_MS, createSecret, randomValue, runCli } from './cli-harness.js';

const HANGING = 'rotator-hanging';

/** `rotate --wait` against the twin while a step runs longer than the operator waits. */
describe('rotator CLI: following a slow step on the local twin', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let twin: LocalSecretsManager;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    twin = await startLocalSecretsManager({
      port: 0,
      registry: async (endpoint) => {
        const hanging = scriptedRotationFunction(endpoint.client, { blockAt: 'setSecret' });
        release = hanging.release;
        return new Map([[HANGING, hanging.fn]]);
      },
    });
  });

  afterAll(async () => {
    release();
    await twin?.rotations.settled();
    await twin?.close();
  });

  it('on --timeout, gives advice that fits the twin (no retries; the step is still running), with the endpoint repeated', async () => {
    const { name } = await createSecret(
      twin,
      { username: 'svc', password: randomValue() },
      HANGING,
    );

    const run = await runCli(twin, [
      'rotate',
      name,
      '--wait',
      '--timeout',
      '2',
      '--poll-ms',
      '100',
    ]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Still not finished at setSecret');
    expect(run.stderr).toContain('The local twin is still running setSecret');
    expect(run.stderr).toContain('does not retry a step by itself');
    expect(run.stderr).not.toContain('Secrets Manager retries failed steps by itself');
    expect(run.stderr).toContain(`follow:   npx rotator status ${name} --endpoint-url ${twin.url}`);
    expect(run.stderr).not.toContain('recover:');
  });

  it('shows on a TTY how long the running step has run', async () => {
    // Another secret, so that it has a rotation of its own at setSecret.
    const { name } = await createSecret(
      twin,
      { username: 'svc', password: randomValue() },
      HANGING,
    );
    const out = { ...captureOutput(), tty: true };
    const lines: string[] = [];
    out.status = (t) => lines.push(t);

    const code = await main(
      ['--endpoint-url', twin.url, 'rotate', name, '--wait', '--timeout', '5', '--poll-ms', '200'],
      { out, env: {} },
    );

    expect(code).toBe(1);
    expect(
      lines.some((l) => /▸ setSecret [1-5]s/.test(l)),
      lines.join('\n'),
    ).toBe(true);
  });
});
