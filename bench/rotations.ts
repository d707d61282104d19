/**
 * Full warm 4-step rotations of every database kind and mode against real servers (the test
 * starters in test/helpers/servers/), through the real engine with an in-memory Secrets
 * Manager and a warm container's version cache. Per kind and mode it reports the rotation
 * time (min/median/max over repetitions) and, per step, the database connects, refused
 * logins and statements (round trips) and the Secrets Manager calls: counts are exact and
 * the primary evidence, times are noisy on a shared machine.
 */
import { setTimeout } from 'node:timers/promises';
import { rotationHandler } from '../shared/engine/rotationHandler.js';
import type { RotationStep, RotationStrategy } from '../shared/engine/types.js';
import { VersionCache } from '../shared/secrets/VersionCache.js';
import { ApiKeyStrategy } from '../shared/strategies/apikey/ApiKeyStrategy.js';
import type { Connector } from '../shared/strategies/database/driver.js';
import { databaseStrategyFromEnv } from '../shared/strategies/database/mode.js';
import {
  providerKeySecret,
  startApiKeyProviderServer,
} from '../test/helpers/apiKeyProviderServer.js';
import {
  countingConnector,
  emptyTally,
  type StepTally,
} from '../test/helpers/countingConnector.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../test/helpers/inMemorySecretsManager.js';
import { adminSecretRig, STEPS } from '../test/helpers/rotationRig.js';
import { MODES, withBenchDatabases } from './databases.js';
import { type Record as RecordFigure, summary } from './stats.js';

interface Target {
  name: string;
  env: NodeJS.ProcessEnv;
  strategy: (connect: (inner: Connector) => Connector) => RotationStrategy;
  /** A fresh application user; returns its secret. */
  seed: () => Promise<string>;
  /** The admin secret its value names (`masterarn`): in the same account, as deployed. */
  admin?: InMemorySecretsManager;
}

/**
 * Pause between two steps, not counted. Secrets Manager calls each step as its own Lambda
 * invocation, tens of milliseconds apart at least; back to back, a step would be charged
 * with the server-side end of the previous step's sessions (PostgreSQL backends exiting:
 * 3 to 5 ms of alternating testSecret on a 2-core machine, measured), which no deployed
 * rotation pays.
 */
const STEP_PAUSE_MS = 25;

/**
 * Rotates one secret of each target `repetitions` times, each in its own warm container
 * (one handler, one version cache), the targets taking turns rotation by rotation so drift
 * on a shared machine falls on all of them alike, after two unmeasured rotations each: the
 * first creates the alternate user and the second the steady state where both users exist.
 * Records times and per-step counts.
 */
async function benchTargets(targets: readonly Target[], repetitions: number, record: RecordFigure) {
  let current = emptyTally();
  const rigs = await Promise.all(
    targets.map(async (target) => {
      const strategy = target.strategy((inner) => countingConnector(inner, () => current));
      const sm = new InMemorySecretsManager();
      sm.seedCurrent(await target.seed());
      // createSecret's freeze check describes the admin secret: it must find it.
      if (target.admin) sm.shareAccountWith(target.admin);
      const handler = rotationHandler(strategy, {
        client: sm.client,
        env: target.env,
        cache: new VersionCache(),
      });
      const perStep = new Map<RotationStep, StepTally[]>(STEPS.map((s) => [s, []]));
      return { target, sm, handler, perStep, totals: [] as number[] };
    }),
  );
  const warmUp = 2;
  for (let i = 0; i < warmUp + repetitions; i++) {
    for (const { target, sm, handler, perStep, totals } of rigs) {
      const token = sm.startRotation();
      let total = 0;
      for (const step of STEPS) {
        current = emptyTally();
        const before = totalCalls(sm);
        const start = performance.now();
        await handler(rotationEvent(step, sm.arn, token), lambdaContext());
        current.ms = performance.now() - start;
        current.secretsManagerCalls = totalCalls(sm) - before;
        total += current.ms;
        if (i >= warmUp) perStep.get(step)?.push(current);
        await setTimeout(STEP_PAUSE_MS);
      }
      if (sm.versionWith('AWSCURRENT') !== token) throw new Error(`${target.name}: not promoted`);
      if (i >= warmUp) totals.push(total);
    }
  }
  for (const { target, perStep, totals } of rigs) {
    const prefix = `rotation.${target.name}`;
    const t = summary(totals);
    record(
      `${prefix}.warm`,
      t.median,
      'ms',
      `min ${t.min} / max ${t.max}, n=${repetitions} (steps ${STEP_PAUSE_MS} ms apart, not counted)`,
    );
    for (const [step, tallies] of perStep) {
      // Counts are the same on every measured repetition; times vary.
      const last = tallies[tallies.length - 1] ?? emptyTally();
      const s = summary(tallies.map((x) => x.ms));
      const connectMs = summary(tallies.map((x) => x.connectMs)).median;
      const statementMs = summary(tallies.map((x) => x.statementMs)).median;
      record(
        `${prefix}.${step}`,
        s.median,
        'ms',
        `min ${s.min} / max ${s.max}; ${last.connects} connects (${last.refused} refused, median ${connectMs} ms), ${last.statements} statements (median ${statementMs} ms), ${last.secretsManagerCalls} SM calls`,
      );
    }
  }
}

const totalCalls = (sm: InMemorySecretsManager) =>
  Object.values(sm.callCounts()).reduce((a, b) => a + b, 0);

/**
 * Benchmarks every database kind and mode whose server binaries are installed, and API keys
 * against the loopback provider (no database connects there: the counts are zero).
 */
export async function benchRotations(record: RecordFigure, repetitions = 15): Promise<void> {
  await withBenchDatabases(
    async (databases) => {
      for (const database of databases) {
        const admin = adminSecretRig(database.adminSecret);
        // Alternating users twice: as a warm function runs it (the admin's session kept
        // from the previous setSecret) and with a new admin login every time (a function's
        // first rotation, or ADMIN_SESSION_KEEP_SECONDS=0).
        const variants = [
          ...MODES.map((mode) => ({ name: mode, env: { ROTATION_MODE: mode } })),
          {
            name: 'alternating-users-no-keep',
            env: { ROTATION_MODE: 'alternating-users', ADMIN_SESSION_KEEP_SECONDS: '0' },
          },
        ];
        await benchTargets(
          variants.map(({ name, env }) => {
            const alternating = env.ROTATION_MODE === 'alternating-users';
            return {
              name: `${database.name}.${name}`,
              env,
              strategy: (wrap) =>
                databaseStrategyFromEnv(database.dialects(wrap(database.connect)), env, {
                  admins: admin.source,
                }),
              seed: () => database.seed(alternating ? admin.arn : undefined),
              ...(alternating ? { admin: admin.sm } : {}),
            };
          }),
          repetitions,
          record,
        );
      }
    },
    (reason) => record('rotation.skipped', 0, '', reason),
  );
  // API keys, provider-issued, against the loopback HTTP provider the tests use.
  const provider = await startApiKeyProviderServer();
  try {
    const admin = new InMemorySecretsManager('bench-provider-admin');
    admin.seedCurrent(JSON.stringify({ token: provider.adminToken }));
    await benchTargets(
      [
        {
          name: 'apikey.provider',
          env: {},
          strategy: () => new ApiKeyStrategy({ env: {}, client: admin.client, verifyPollMs: 10 }),
          seed: async () => providerKeySecret(provider, admin.arn),
        },
      ],
      repetitions,
      record,
    );
  } finally {
    await provider.close();
  }
}
