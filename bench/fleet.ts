/**
 * The fleet benchmark (`npm run bench -- fleet`): N secrets (100, 300, 1,000 by default) are
 * created in the local twin, with its encrypted state file on, and all rotated through the
 * project's example function (`rotator-example`, the twin's default registry, so no database is
 * needed) by 1 and by 8 concurrent callers. Each (N, concurrency) run is a fresh process, so its
 * RSS is the twin's own (plus one SDK client) and runs do not warm each other up.
 *
 * Printed and written to reports/fleet.json and reports/fleet.md: rotations/s, CPU time per
 * rotation (steadier than wall time on a shared machine), rotation latency (min/median/max),
 * peak RSS, one acknowledged write at that store size (PutSecretValue over HTTP, against
 * GetSecretValue as the no-write baseline), the state file alone (writing the whole store, as
 * every write did before the journal, and appending one change), and the ratios 1,000/100 of
 * wall and CPU time per concurrency (linear scaling gives 10).
 *
 * Options: `--sizes 100,300,1000`, `--concurrency 1,8`, `--writes 20` (write samples per run).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  createDefaultRegistry,
  EXAMPLE_FUNCTION_NAME,
} from '../local/secrets-manager/defaultRegistry.js';
import { startLocalSecretsManager } from '../local/secrets-manager/index.js';
import { StateFile } from '../local/secrets-manager/persistence.js';
import type { SecretsStore } from '../local/secrets-manager/store.js';
import { secretRegistry } from '../shared/logging/redaction.js';

/** What one worker process measures for one (secrets, concurrency) pair. */
export interface FleetRun {
  secrets: number;
  concurrency: number;
  /** Wall time to rotate every secret once, in seconds. */
  seconds: number;
  rotationsPerSecond: number;
  /** Latency of one rotation (RotateSecret to Succeeded), ms. */
  latency: Summary;
  /** One acknowledged write (PutSecretValue over HTTP) at this store size, ms. */
  write: Summary;
  /** One read (GetSecretValue over HTTP), the same round trip without a state-file write, ms. */
  read: Summary;
  /** CPU time (user + system) of the process during the rotations, per rotation, ms. */
  cpuMsPerRotation: number;
  /**
   * The state file alone, on this store after the rotations: the first snapshot (every value
   * encrypted), writing the whole store again (what every write cost before the journal, and
   * what a compaction costs now) and appending one changed secret to the journal (what a
   * write costs now), ms.
   */
  store: { firstSnapshotMs: number; wholeStore: Summary; oneChange: Summary };
  /**
   * Most values the rotation functions' log redaction registry held at once (sampled): it is
   * emptied only when no invocation runs, so it grows while rotations overlap.
   */
  redactionRegistryPeak: number;
  /** V8 heap in use after the rotations and a full garbage collection: what is retained, MiB. */
  heapAfterGcMiB: number;
  /** Peak resident set size of the process running the twin, MiB. */
  peakRssMiB: number;
  /** State file size after the run (bytes). */
  stateBytes: number;
}

/** Time of the largest N over the smallest, wall clock and CPU. */
interface Ratio {
  seconds: number;
  cpu: number;
}

interface Summary {
  min: number;
  median: number;
  max: number;
}

function summary(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number | undefined) => Number((n ?? Number.NaN).toFixed(2));
  return {
    min: round(sorted[0]),
    median: round(sorted[Math.floor(sorted.length / 2)]),
    max: round(sorted[sorted.length - 1]),
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs in the worker process: one twin, N secrets, every one rotated once. */
async function worker(secrets: number, concurrency: number, writes: number): Promise<FleetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-fleet-'));
  const statePath = join(dir, 'state.json');
  let peakRss = process.memoryUsage().rss;
  let registryPeak = 0;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    registryPeak = Math.max(registryPeak, secretRegistry.size);
  };
  const sampler = setInterval(sample, 50);
  const twin = await startLocalSecretsManager({
    statePath,
    masterKey: randomBytes(32),
    registry: createDefaultRegistry,
  });
  try {
    // Setup, not measured: the secrets are created through the store and persisted once.
    const names = Array.from({ length: secrets }, (_, i) => `fleet/${i}`);
    for (const name of names) {
      twin.store.createSecret({
        Name: name,
        SecretString: JSON.stringify({
          username: `user${name.slice(6)}`,
          password: randomBytes(18).toString('base64url'),
        }),
      });
    }
    await twin.persist();
    const client = twin.newClient();
    const latencies: number[] = [];
    let next = 0;
    const rotateAll = async () => {
      for (let i = next++; i < names.length; i = next++) {
        const name = names[i] as string;
        latencies.push(
          await timed(async () => {
            await client.send(
              new RotateSecretCommand({
                SecretId: name,
                RotationLambdaARN: EXAMPLE_FUNCTION_NAME,
                RotationRules: { AutomaticallyAfterDays: 30 },
              }),
            );
            const record = await twin.rotations.waitFor(name);
            sample();
            if (record?.state !== 'Succeeded') {
              throw new Error(`rotation of ${name} ended ${record?.state}: ${record?.message}`);
            }
          }),
        );
      }
    };
    const start = performance.now();
    const cpuBefore = process.cpuUsage();
    await Promise.all(Array.from({ length: concurrency }, rotateAll));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    global.gc?.();
    const heapAfterGc = process.memoryUsage().heapUsed;
    const writeSamples: number[] = [];
    const readSamples: number[] = [];
    for (let i = 0; i < writes; i++) {
      const name = names[i % names.length] as string;
      writeSamples.push(
        await timed(() =>
          client.send(
            new PutSecretValueCommand({
              SecretId: name,
              SecretString: randomBytes(24).toString('hex'),
            }),
          ),
        ),
      );
      readSamples.push(
        await timed(() => client.send(new GetSecretValueCommand({ SecretId: name }))),
      );
    }
    client.destroy();
    await twin.close();
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    const size = statSync(statePath).size;
    const store = await measureStore(twin.store, names, join(dir, 'alone.json'), writes);
    return {
      secrets,
      concurrency,
      seconds: Number(seconds.toFixed(2)),
      rotationsPerSecond: Number((secrets / seconds).toFixed(1)),
      latency: summary(latencies),
      write: summary(writeSamples),
      read: summary(readSamples),
      cpuMsPerRotation: Number(((cpu.user + cpu.system) / 1000 / secrets).toFixed(2)),
      store,
      redactionRegistryPeak: registryPeak,
      heapAfterGcMiB: Number((heapAfterGc / 1024 / 1024).toFixed(1)),
      peakRssMiB: Number((peakRss / 1024 / 1024).toFixed(1)),
      stateBytes: size,
    };
  } finally {
    clearInterval(sampler);
    await twin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Times the state file alone on `store` (the twin is closed, so nothing else touches it): a
 * fresh state file's first save writes the whole store; later saves append what changed.
 */
async function measureStore(
  store: SecretsStore,
  names: string[],
  path: string,
  samples: number,
): Promise<FleetRun['store']> {
  const file = new StateFile(path, randomBytes(32));
  // The first save encrypts every value once; later snapshots reuse the envelopes, as the
  // state file before the journal did on every write.
  const first = await timed(() => file.save(store));
  const whole: number[] = [];
  for (let i = 0; i < 5; i++) whole.push(await timed(() => file.save(store, { compact: true })));
  const one: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = names[i % names.length] as string;
    one.push(
      await timed(() => {
        store.putSecretValue({ SecretId: name, SecretString: randomBytes(24).toString('hex') });
        return file.save(store);
      }),
    );
  }
  await file.close();
  return {
    firstSnapshotMs: Number(first.toFixed(2)),
    wholeStore: summary(whole),
    oneChange: summary(one),
  };
}

/** Runs one (secrets, concurrency) pair in a fresh process and returns its figures. */
function runInChild(secrets: number, concurrency: number, writes: number): Promise<FleetRun> {
  return new Promise((resolvePromise, reject) => {
    // The rotation functions log to stdout as on Lambda; the figures come back over IPC.
    const child = fork(
      import.meta.filename,
      ['worker', String(secrets), String(concurrency), String(writes)],
      {
        execArgv: ['--expose-gc', '--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    );
    let result: FleetRun | undefined;
    child.on('message', (message) => {
      result = message as FleetRun;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolvePromise(result);
      else reject(new Error(`fleet worker (${secrets} secrets, ${concurrency}) exited ${code}`));
    });
  });
}

function numbers(list: string): number[] {
  return list.split(',').map((item) => {
    const n = Number(item);
    if (!Number.isInteger(n) || n < 1) throw new Error(`Not a positive integer: ${item}`);
    return n;
  });
}

function markdown(runs: FleetRun[], ratios: Record<string, Ratio>): string {
  const rows = runs.map(
    (r) =>
      `| ${r.secrets} | ${r.concurrency} | ${r.seconds} | ${r.rotationsPerSecond} | ${r.cpuMsPerRotation} | ${r.latency.min} / ${r.latency.median} / ${r.latency.max} | ${r.write.min} / ${r.write.median} / ${r.write.max} | ${r.read.median} | ${r.store.wholeStore.median} | ${r.store.oneChange.min} / ${r.store.oneChange.median} / ${r.store.oneChange.max} | ${r.redactionRegistryPeak} | ${r.heapAfterGcMiB} | ${r.peakRssMiB} | ${(r.stateBytes / 1024).toFixed(0)} |`,
  );
  const ratioRows = Object.entries(ratios).map(
    ([c, ratio]) => `| ${c} | ${ratio.seconds} | ${ratio.cpu} |`,
  );
  return [
    '# Fleet benchmark',
    '',
    `${new Date().toISOString()}, Node ${process.version}. Example function, state file on.`,
    '',
    '| secrets | concurrency | seconds | rotations/s | CPU ms/rotation | rotation ms (min / median / max) | PutSecretValue ms (min / median / max) | GetSecretValue ms (median) | state file: whole store ms (median) | state file: one change ms (min / median / max) | redaction registry peak | heap after GC MiB | peak RSS MiB | state KiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '| concurrency | ratio largest/smallest N: wall time | CPU time (linear = size ratio) |',
    '|---|---|---|',
    ...ratioRows,
    '',
  ].join('\n');
}

/** `npm run bench -- fleet [--sizes 100,300,1000] [--concurrency 1,8] [--writes 20]`. */
export async function fleet(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '100,300,1000' },
      concurrency: { type: 'string', default: '1,8' },
      writes: { type: 'string', default: '20' },
    },
  });
  const sizes = numbers(values.sizes);
  const concurrencies = numbers(values.concurrency);
  const writes = numbers(values.writes)[0] ?? 20;
  const runs: FleetRun[] = [];
  for (const concurrency of concurrencies) {
    for (const secrets of sizes) {
      const run = await runInChild(secrets, concurrency, writes);
      runs.push(run);
      process.stdout.write(
        `${secrets} secrets, concurrency ${concurrency}: ${run.seconds} s, ${run.rotationsPerSecond} rotations/s, ${run.cpuMsPerRotation} CPU ms/rotation, state file: whole store ${run.store.wholeStore.median} ms, one change ${run.store.oneChange.median} ms; peak RSS ${run.peakRssMiB} MiB\n`,
      );
    }
  }
  const ratios: Record<string, Ratio> = {};
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  for (const concurrency of concurrencies) {
    const small = runs.find((r) => r.concurrency === concurrency && r.secrets === smallest);
    const large = runs.find((r) => r.concurrency === concurrency && r.secrets === largest);
    if (small && large && largest !== smallest) {
      const cpu = (r: FleetRun) => r.cpuMsPerRotation * r.secrets;
      ratios[String(concurrency)] = {
        seconds: Number((large.seconds / small.seconds).toFixed(2)),
        cpu: Number((cpu(large) / cpu(small)).toFixed(2)),
      };
    }
  }
  const root = resolve(import.meta.dirname, '..');
  mkdirSync(join(root, 'reports'), { recursive: true });
  const report = { date: new Date().toISOString(), node: process.version, runs, ratios };
  writeFileSync(join(root, 'reports/fleet.json'), `${JSON.stringify(report, null, 2)}\n`);
  const text = markdown(runs, ratios);
  writeFileSync(join(root, 'reports/fleet.md'), text);
  process.stdout.write(`\n${text}\nwritten: reports/fleet.json, reports/fleet.md\n`);
}

if (process.argv[2] === 'worker' && process.send) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [secrets, concurrency, writes] = process.argv.slice(3).map(Number);
  const run = await worker(secrets ?? 100, concurrency ?? 1, writes ?? 20);
  process.send(run, () => process.exit(0));
}
