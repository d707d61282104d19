/**
 * `npm run bench`: prints figures and writes reports/bench.json and reports/bench.md.
 * Measures what the design choices rest on: local CSPRNG vs GetRandomPassword (one HTTP round
 * trip to the local twin on loopback; against AWS add the regional latency), a full rotation
 * through the real engine and twin (time and Secrets Manager calls), log redaction
 * throughput (and scrub time with a 65,536-character secret, alone with
 * `npm run bench -- redaction`), and memory after many rotations; then rotations of every
 * database kind and mode against real servers (bench/rotations.ts) and the built bundles:
 * size, start-up, source-map cost, cold and warm Secrets Manager calls, peak RSS
 * (bench/bundles.ts); then the fleet benchmark (bench/fleet.ts). Timings on a shared machine
 * are noisy: medians with min/max; counts are exact.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CreateSecretCommand,
  GetRandomPasswordCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager } from '../local/secrets-manager/index.js';
import { rotationHandler } from '../shared/engine/rotationHandler.js';
import { SecretRegistry } from '../shared/logging/redaction.js';
import { generateLocalPassword, passwordPolicyFromEnv } from '../shared/secrets/passwords.js';
import { ExampleStrategy } from '../shared/strategies/example/ExampleStrategy.js';
import { countSecretsManagerCalls } from '../test/helpers/callCounter.js';
import { benchBundles } from './bundles.js';
import { fleet } from './fleet.js';
import { measureRedaction } from './redaction.js';
import { benchRotations } from './rotations.js';

interface Figure {
  name: string;
  value: number;
  unit: string;
  note?: string;
}
const figures: Figure[] = [];
const record = (name: string, value: number, unit: string, note?: string) => {
  figures.push({ name, value: Number(value.toFixed(3)), unit, ...(note ? { note } : {}) });
};

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function time<T>(fn: () => Promise<T> | T): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main() {
  // Silence the rotation functions' own logs and metrics: the bench prints figures only.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const only = process.argv[2];
  if (only !== 'redaction') await measureRotations();
  await measureRedactionFigures();
  if (only !== 'redaction') {
    // Real servers and built bundles (bench/rotations.ts, bench/bundles.ts).
    await benchRotations(record);
    await benchBundles(record);
  }
  writeReports();
}

async function measureRotations() {
  const policy = passwordPolicyFromEnv({});

  // 1. Passwords: local CSPRNG.
  const localSamples: number[] = [];
  for (let i = 0; i < 20_000; i++)
    localSamples.push(await time(() => generateLocalPassword(policy)));
  record('password.local.p50', percentile(localSamples, 50) * 1000, 'µs');
  record('password.local.p99', percentile(localSamples, 99) * 1000, 'µs');
  const { zeroDowntimeFigures } = await import('./zeroDowntime.js');
  for (const f of await zeroDowntimeFigures()) record(f.name, f.value, f.unit, f.note);

  let rotationClientCounts = new Map<string, number>();
  const twin = await startLocalSecretsManager({
    port: 0,
    registry: (endpoint) => {
      rotationClientCounts = countSecretsManagerCalls(endpoint.client);
      const handler = rotationHandler(new ExampleStrategy(), { client: endpoint.client });
      return new Map([['rotator-bench', (event, context) => handler(event, context)]]);
    },
  });
  try {
    const client = twin.newClient();
    // 2. Passwords: GetRandomPassword over HTTP.
    const remoteSamples: number[] = [];
    for (let i = 0; i < 300; i++) {
      remoteSamples.push(
        await time(() =>
          client.send(
            new GetRandomPasswordCommand({ PasswordLength: 32, ExcludeCharacters: '/@"\'\\' }),
          ),
        ),
      );
    }
    record(
      'password.GetRandomPassword.p50',
      percentile(remoteSamples, 50) * 1000,
      'µs',
      'loopback HTTP to the local twin; AWS adds its regional latency',
    );
    record('password.GetRandomPassword.p99', percentile(remoteSamples, 99) * 1000, 'µs');

    // 3. Full rotations through engine + twin.
    const rotations = 100;
    const rotationSamples: number[] = [];
    // Collect first: without it the "before" reading holds garbage the GC below frees, and
    // the growth came out negative on every run.
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < rotations; i++) {
      const name = `bench/${i}-${randomBytes(3).toString('hex')}`;
      await client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: JSON.stringify({
            username: 'bench',
            password: randomBytes(16).toString('hex'),
          }),
        }),
      );
      rotationSamples.push(
        await time(async () => {
          await client.send(
            new RotateSecretCommand({
              SecretId: name,
              RotationLambdaARN: `arn:aws:lambda:${twin.region}:${twin.accountId}:function:rotator-bench`,
              RotationRules: { AutomaticallyAfterDays: 30 },
            }),
          );
          const result = await twin.rotations.waitFor(name);
          if (result && 'error' in result && result.error) throw new Error(`rotation ${i} failed`);
        }),
      );
    }
    const totalCalls = [...rotationClientCounts.values()].reduce((a, b) => a + b, 0);
    record(
      'rotation.full.p50',
      percentile(rotationSamples, 50),
      'ms',
      'RotateSecret to AWSCURRENT, example strategy, local twin',
    );
    record('rotation.full.p95', percentile(rotationSamples, 95), 'ms');
    record(
      'rotation.secretsManagerCalls',
      totalCalls / rotations,
      'calls/rotation',
      JSON.stringify(Object.fromEntries(rotationClientCounts)),
    );
    global.gc?.();
    record(
      'rotation.heapGrowth',
      (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024,
      'MiB',
      global.gc
        ? `after ${rotations} rotations, GC forced before and after (includes the twin's ${rotations} stored secrets)`
        : 'run with --expose-gc (npm run bench does): without a forced GC the figure is noise',
    );
    record('process.rss', process.memoryUsage().rss / 1024 / 1024, 'MiB');
  } finally {
    await twin.close();
  }
}

async function measureRedactionFigures() {
  // 4. Redaction throughput: a 2 KiB log line against 50 registered secrets.
  const registry = new SecretRegistry();
  for (let i = 0; i < 50; i++) registry.register(randomBytes(16).toString('base64url'));
  const line = `connection failed ${randomBytes(1000).toString('hex')}`;
  const n = 20_000;
  const scrubMs = await time(() => {
    for (let i = 0; i < n; i++) registry.scrub(line);
  });
  record(
    'redaction.scrub',
    (scrubMs * 1000) / n,
    'µs/line',
    '2 KiB line, 50 secrets × 8 spellings',
  );
  // 5. Redaction with a 65,536-character secret over a 10 KB and a 1 MB text.
  for (const f of measureRedaction()) record(f.name, f.value, f.unit, f.note);
}

function writeReports() {
  const root = resolve(import.meta.dirname, '..');
  mkdirSync(join(root, 'reports'), { recursive: true });
  const report = { date: new Date().toISOString(), node: process.version, figures };
  writeFileSync(join(root, 'reports/bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  const table = figures
    .map((f) => `| ${f.name} | ${f.value} | ${f.unit} | ${f.note ?? ''} |`)
    .join('\n');
  const markdown = `# rotator benchmarks\n\n${report.date}, Node ${report.node}\n\n| figure | value | unit | note |\n|---|---|---|---|\n${table}\n`;
  writeFileSync(join(root, 'reports/bench.md'), markdown);
  process.stdout.write(`${markdown}\nwritten: reports/bench.json, reports/bench.md\n`);
}

// `npm run bench` runs everything; `npm run bench -- micro`, `-- redaction`, `-- fleet [options]`,
// `-- bundles [repetitions]` (sizes, start-up and memory of the built bundles only) or
// `-- rotations [repetitions]` (warm rotations against real servers only) one part.
const [which, ...rest] = process.argv.slice(2);
if (which === 'bundles') {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await benchBundles(record, Number(rest[0] ?? 10), true);
  writeReports();
} else if (which === 'rotations') {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await benchRotations(record, Number(rest[0] ?? 15));
  writeReports();
} else if (which !== 'fleet') await main();
if (which === undefined || which === 'fleet') await fleet(which === 'fleet' ? rest : []);
