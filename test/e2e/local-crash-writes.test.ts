import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/secrets-manager/index.js';
import { MASTER_KEY_ENV } from '../../local/secrets-manager/persistence.js';
import {
  type ChildTwin,
  randomValue,
  spawnLocalTwin,
  versionWith,
} from '../helpers/localSecretsManager.js';

const children: ChildTwin[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const twin of children.splice(0)) {
    if (twin.child.exitCode === null && twin.child.signalCode === null) {
      twin.child.kill('SIGKILL');
      await twin.exited;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function spawn(statePath: string, env: NodeJS.ProcessEnv): Promise<ChildTwin> {
  const twin = await spawnLocalTwin(
    ['--state', statePath, '--port', '0', '--no-seed', '--quiet'],
    env,
  );
  children.push(twin);
  return twin;
}

const WRITERS = 8;
const KILLS = 3;

describe('local Secrets Manager: SIGKILL during a stream of writes', () => {
  it('keeps every acknowledged version and its value across repeated kills at random moments, and stays writable', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'rotator-kill-'));
    dirs.push(dir);
    const statePath = join(dir, 'state.json');
    const env = { ...process.env, [MASTER_KEY_ENV]: randomBytes(32).toString('base64') };
    /** Acknowledged writes per secret, in order: [versionId, value]. */
    const acknowledged = new Map<string, [string, string][]>();
    const names = Array.from({ length: WRITERS }, (_, i) => `kill/${i}`);
    for (let round = 0; round <= KILLS; round++) {
      const twin = await spawn(statePath, env);
      const client = new SecretsManagerClient(localClientConfig(twin.url, 'us-east-1'));
      // Assess (from the second round): nothing acknowledged before the last kill was lost.
      for (const [name, writes] of acknowledged) {
        for (const [versionId, value] of writes) {
          const got = await client.send(
            new GetSecretValueCommand({ SecretId: name, VersionId: versionId }),
          );
          expect(got.SecretString, `${name} ${versionId}`).toBe(value);
        }
        // The last acknowledged write is current, or a later one that was not acknowledged.
        const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
        const current = versionWith(described.VersionIdsToStages, 'AWSCURRENT') as string;
        const last = writes[writes.length - 1]?.[0] as string;
        if (current !== last) {
          expect(writes.map(([id]) => id)).not.toContain(current);
        }
      }
      if (round === KILLS) {
        client.destroy();
        break;
      }
      // Act: eight writers, each on its own secret, until SIGKILL at a random moment.
      let killed = false;
      const writer = async (name: string) => {
        const writes = acknowledged.get(name) ?? [];
        acknowledged.set(name, writes);
        if (round === 0) {
          const value = randomValue();
          const created = await client.send(
            new CreateSecretCommand({ Name: name, SecretString: value }),
          );
          writes.push([created.VersionId as string, value]);
        }
        while (!killed) {
          const value = randomValue(randomInt(16, 400));
          try {
            const put = await client.send(
              new PutSecretValueCommand({ SecretId: name, SecretString: value }),
            );
            if (!killed) writes.push([put.VersionId as string, value]);
          } catch {
            return; // the connection died with the twin: not acknowledged
          }
        }
      };
      const writing = Promise.all(names.map(writer));
      await new Promise((resolve) => setTimeout(resolve, randomInt(300, 900)));
      killed = true;
      twin.child.kill('SIGKILL');
      expect(await twin.exited).toBe('SIGKILL');
      await writing;
      client.destroy();
    }
    const total = [...acknowledged.values()].reduce((n, writes) => n + writes.length, 0);
    expect(total).toBeGreaterThan(WRITERS * KILLS);
  }, 60_000);
});
