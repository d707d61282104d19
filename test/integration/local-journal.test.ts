import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../local/secrets-manager/clock.js';
import { encryptValue, StateFileError } from '../../local/secrets-manager/masterKey.js';
import type { StoreSnapshot } from '../../local/secrets-manager/model.js';
import { StateFile, type StateFileOptions } from '../../local/secrets-manager/persistence.js';
import { SecretsStore } from '../../local/secrets-manager/store.js';
import { randomValue, uniqueName, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

const dirs: string[] = [];
// Before the twins: hooks run in reverse, so the twins close before their folders go.
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const start = useLocalSecretsManager();

function statePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-journal-'));
  dirs.push(dir);
  return join(dir, 'state.json');
}

function newStore(snapshot?: StoreSnapshot): SecretsStore {
  return new SecretsStore(
    { clock: systemClock, region: 'us-east-1', accountId: '123456789012' },
    snapshot,
  );
}

/**
 * A state file of a store of `count` secrets, saved once (the first save writes the
 * snapshot).
 */
async function journalOf(count: number, options: StateFileOptions = {}) {
  const path = statePath();
  const key = randomBytes(32);
  const file = new StateFile(path, key, options);
  const store = newStore();
  const names = Array.from({ length: count }, () => uniqueName('journal'));
  for (const name of names) store.createSecret({ Name: name, SecretString: randomValue() });
  await file.save(store);
  return { path, key, file, store, names };
}

/** Where the last line of a file starts (the file ends with a newline). */
function lastLineStart(data: Buffer): number {
  return data.lastIndexOf(0x0a, data.length - 2) + 1;
}

describe('local Secrets Manager: the state file journal', () => {
  it('appends one record the size of the change, not of the store, for each write', async () => {
    // Prepare
    const { path, file, store, names } = await journalOf(300);
    const snapshotBytes = statSync(path).size;
    // Act
    store.putSecretValue({ SecretId: names[7], SecretString: randomValue() });
    await file.save(store);
    store.putSecretValue({ SecretId: names[8], SecretString: randomValue() });
    await file.save(store);
    // Assess
    const grown = statSync(path).size - snapshotBytes;
    expect(file.stats).toMatchObject({ appends: 2, compactions: 1 });
    expect(grown).toBeGreaterThan(0);
    expect(grown).toBeLessThan(4096);
    expect(snapshotBytes).toBeGreaterThan(100 * 1024);
  });

  it('writes nothing when no secret changed, even after reads', async () => {
    const { path, file, store, names } = await journalOf(3);
    const size = statSync(path).size;
    store.describeSecret({ SecretId: names[0] });
    await file.save(store);
    expect(statSync(path).size).toBe(size);
    expect(file.stats.appends).toBe(0);
  });

  it('shares one commit between saves requested while another is being written', async () => {
    const { path, key, file, store, names } = await journalOf(20);
    // Act: twenty changes, each followed by its own save, all at once.
    const saves = names.map((name) => {
      store.putSecretValue({ SecretId: name, SecretString: randomValue() });
      return file.save(store);
    });
    await Promise.all(saves);
    // Assess: the first change's commit, then one for the other nineteen.
    expect(file.stats.appends).toBeLessThanOrEqual(2);
    expect(new StateFile(path, key).load()?.secrets).toEqual(store.snapshot().secrets);
  });

  it('journals a replica that followed its primary, so a restart sees the replica in step', async () => {
    const { path, key, file, store } = await journalOf(1);
    const name = uniqueName('replicated');
    store.createSecret({
      Name: name,
      SecretString: randomValue(),
      AddReplicaRegions: [{ Region: 'eu-west-1' }],
    });
    store.propagateReplicas();
    await file.save(store);
    // A new value in the primary reaches the replica through propagation only (index.ts).
    const next = randomValue();
    store.putSecretValue({ SecretId: name, SecretString: next });
    store.propagateReplicas();
    await file.save(store);
    // Act
    const loaded = new StateFile(path, key).load();
    // Assess: every record, the replica's included, as the live store has it.
    expect(file.stats.compactions).toBe(1);
    expect(loaded?.secrets).toEqual(store.snapshot().secrets);
  });

  it('restores every committed version and label, and deletions, from snapshot and journal', async () => {
    const { path, key, file, store, names } = await journalOf(5);
    store.putSecretValue({ SecretId: names[0], SecretString: randomValue() });
    await file.save(store);
    store.deleteSecret({ SecretId: names[1], ForceDeleteWithoutRecovery: true });
    store.tagResource({ SecretId: names[2], Tags: [{ Key: 'team', Value: 'a' }] });
    await file.save(store);
    const binary = randomBytes(50).toString('base64');
    store.createSecret({ Name: uniqueName('bin'), SecretBinary: binary });
    await file.save(store);
    // Act
    const loaded = new StateFile(path, key).load();
    // Assess
    expect(loaded?.secrets).toEqual(store.snapshot().secrets);
    expect(file.stats.compactions).toBe(1);
  });

  it('drops a record torn by a crash mid-append, at any offset, and keeps every earlier commit', async () => {
    // Prepare: a snapshot and two commits; remember the state after the first one.
    const { path, key, file, store, names } = await journalOf(4);
    store.putSecretValue({ SecretId: names[0], SecretString: randomValue() });
    await file.save(store);
    const beforeLast = structuredClone(store.snapshot());
    store.putSecretValue({ SecretId: names[1], SecretString: randomValue() });
    store.putSecretValue({ SecretId: names[0], SecretString: randomValue() });
    await file.save(store);
    const complete = readFileSync(path);
    const last = lastLineStart(complete);
    const torn = join(path, '..', 'torn.json');
    const offsets = new Set([last, last + 1, complete.length - 1]);
    while (offsets.size < 25) offsets.add(randomInt(last, complete.length - 1));
    for (const length of offsets) {
      // Act
      writeFileSync(torn, complete.subarray(0, length));
      // Assess
      expect(new StateFile(torn, key).load()?.secrets, `cut at ${length}`).toEqual(
        beforeLast.secrets,
      );
    }
    writeFileSync(torn, complete);
    expect(new StateFile(torn, key).load()?.secrets).toEqual(store.snapshot().secrets);
  });

  it('a twin started on a torn file rewrites it before appending, so later restarts see every write', async () => {
    // Prepare: a twin that wrote a journal, then a torn tail as a crash would leave it.
    const path = statePath();
    const masterKey = randomBytes(32);
    const first = await start({ statePath: path, masterKey });
    const name = uniqueName('torn');
    await first.client.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
    const kept = randomValue();
    await first.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: kept }));
    await first.client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: randomValue() }),
    );
    const data = readFileSync(path);
    await first.close();
    writeFileSync(path, data.subarray(0, lastLineStart(data) + 10));
    // Act: restart, write, restart again.
    const second = await start({ statePath: path, masterKey });
    expect(
      (await second.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString,
    ).toBe(kept);
    const later = randomValue();
    await second.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: later }));
    await second.close();
    const third = await start({ statePath: path, masterKey });
    // Assess
    expect(
      (await third.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString,
    ).toBe(later);
  });

  it('refuses a journal record that was altered, reordered or removed, naming the record', async () => {
    const { path, key, file, store, names } = await journalOf(2);
    for (const name of names) {
      store.putSecretValue({ SecretId: name, SecretString: randomValue() });
      await file.save(store);
    }
    store.putSecretValue({ SecretId: names[0], SecretString: randomValue() });
    await file.save(store);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(5); // snapshot, three records, '' after the last newline
    const altered = [...lines];
    const bytes = Buffer.from(altered[2] as string, 'base64');
    bytes[40] = (bytes[40] ?? 0) ^ 0x01;
    altered[2] = bytes.toString('base64');
    // Each case names the first record that no longer opens at its position.
    const cases: [string, (string | undefined)[], number][] = [
      ['altered', altered, 2],
      ['reordered', [lines[0], lines[2], lines[1], lines[3], ''], 1],
      ['removed', [lines[0], lines[1], lines[3], ''], 2],
    ];
    for (const [what, content, record] of cases) {
      writeFileSync(path, content.join('\n'));
      expect(() => new StateFile(path, key).load(), what).toThrow(StateFileError);
      expect(() => new StateFile(path, key).load(), what).toThrow(`journal record ${record} `);
    }
  });

  it('compacts the journal into a new snapshot once it passes its bound, losing nothing', async () => {
    const { path, key, file, store, names } = await journalOf(10, { compactionBytes: 16 * 1024 });
    let largest = 0;
    for (let i = 0; i < 200; i++) {
      store.putSecretValue({ SecretId: names[i % names.length], SecretString: randomValue() });
      await file.save(store);
      largest = Math.max(largest, statSync(path).size);
    }
    expect(file.stats.compactions).toBeGreaterThan(2);
    expect(largest).toBeLessThanOrEqual(file.stats.snapshotBytes * 2 + 16 * 1024);
    expect(new StateFile(path, key).load()?.secrets).toEqual(store.snapshot().secrets);
  });

  it('never writes a plaintext value into journal records', async () => {
    const path = statePath();
    const twin = await start({ statePath: path, masterKey: randomBytes(32) });
    const values = [randomValue(), randomValue(48)];
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: values[0] }),
    );
    await twin.client.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: values[1] }));
    const file = readFileSync(path, 'utf8');
    expect(file.split('\n').length).toBeGreaterThan(2);
    for (const value of values) {
      const bytes = Buffer.from(value, 'utf8');
      for (const form of [value, bytes.toString('base64'), bytes.toString('hex')]) {
        expect(file.includes(form)).toBe(false);
      }
    }
  });

  it('loads a state file of the first format (one JSON snapshot, no journal)', async () => {
    const path = statePath();
    const key = randomBytes(32);
    const value = randomValue();
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:old-AbCdEf';
    const v1 = {
      format: 'rotator-local-secrets-manager/v1',
      masterKeyId: createHash('sha256')
        .update('rotator-local-master-key-id')
        .update(key)
        .digest('hex')
        .slice(0, 16),
      secrets: [
        {
          arn,
          name: 'old',
          tags: [],
          createdDate: 1,
          lastChangedDate: 1,
          versions: [
            {
              versionId: 'v1',
              stages: ['AWSCURRENT'],
              createdDate: 1,
              value: {
                kind: 'string',
                envelope: encryptValue(key, arn, 'v1', { kind: 'string', text: value }),
              },
            },
          ],
        },
      ],
    };
    writeFileSync(path, JSON.stringify(v1));
    const twin = await start({ statePath: path, masterKey: key });
    expect(
      (await twin.client.send(new GetSecretValueCommand({ SecretId: 'old' }))).SecretString,
    ).toBe(value);
  });
});
