import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../helpers/captureLogs.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';
import {
  type EngineRig,
  mariadbRig,
  postgresRig,
  type RotationMode,
  runZeroDowntime,
  type ZeroDowntimeResult,
} from '../helpers/zeroDowntime.js';

/** K clients per population and M rotations: the bench runs M=10, the test keeps it short. */
const CLIENTS = 16;
const ROTATIONS = 5;

const engines: [
  string,
  ReturnType<typeof serverSupport>,
  () => Promise<{ rig: EngineRig; stop(): Promise<void> }>,
][] = [
  [
    'PostgreSQL',
    serverSupport(POSTGRES),
    async () => {
      const server: PostgresServer = await startPostgres();
      return { rig: postgresRig(server), stop: () => server.stop() };
    },
  ],
  [
    'MariaDB',
    serverSupport(MARIADB),
    async () => {
      const server: MariadbServer = await startMariadb();
      return { rig: await mariadbRig(server), stop: () => server.stop() };
    },
  ],
];

describe.each(engines)(
  'Zero downtime under load: %s (real server, local twin)',
  (label, support, start) => {
    describe.skipIf(!support.available)(support.reason, () => {
      let engine: { rig: EngineRig; stop(): Promise<void> };
      const logs = captureLogs();

      beforeAll(async () => {
        engine = await start();
      });
      const results: ZeroDowntimeResult[] = [];
      afterAll(async () => {
        await engine?.stop();
        // The counts, for the record (the bench prints them as a table).
        for (const { engine: name, mode, library, baseline, durationMs } of results) {
          process.stdout.write(
            `${name} ${mode}: library ${JSON.stringify(library)}, baseline ${JSON.stringify(baseline)}, ${Math.round(durationMs)} ms\n`,
          );
        }
      });

      it.each<RotationMode>(['single-user', 'alternating-users'])(
        `${label} %s: 0 failed queries with the library while rotations run back to back`,
        async (mode) => {
          // Prepare
          const library: string[] = [];
          const logger = {
            debug: (m: string, e?: object) => library.push(JSON.stringify({ m, ...e })),
            info: (m: string, e?: object) => library.push(JSON.stringify({ m, ...e })),
            warn: (m: string, e?: object) => library.push(JSON.stringify({ m, ...e })),
          };

          // Act
          const result = await runZeroDowntime(engine.rig, {
            mode,
            clients: CLIENTS,
            rotations: ROTATIONS,
            logger,
          });

          // Assess
          results.push(result);
          expect(result.rotationStates).toEqual(Array(ROTATIONS).fill('Succeeded'));
          expect(result.library.failedQueries).toBe(0);
          expect(result.library.queries).toBeGreaterThan(CLIENTS * ROTATIONS);
          expect(result.baseline.queries).toBeGreaterThan(CLIENTS * ROTATIONS);
          if (mode === 'alternating-users') {
            expect(result.baseline.refusedLogins).toBe(0);
            expect(result.baseline.failedQueries).toBe(0);
          }
          logs.assertNoneContain(result.passwords);
          for (const line of library)
            for (const password of result.passwords) expect(line.includes(password)).toBe(false);
        },
        120_000,
      );
    });
  },
);
