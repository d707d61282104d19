/**
 * Zero-downtime bench: K clients (default 16) query real PostgreSQL and MariaDB servers in a
 * loop while M rotations (default 10) run back to back through the local twin, in
 * single-user and alternating-users modes, with the consumer library and without it (plain
 * driver clients that read AWSCURRENT before every login). Prints, per engine and mode,
 * the four counts: failed queries and refused logins, with and without the library.
 * `ZERO_DOWNTIME_CLIENTS` and `ZERO_DOWNTIME_ROTATIONS` override K and M.
 */
import { existsSync } from 'node:fs';
import { MARIADB, startMariadb } from '../test/helpers/servers/mariadb.js';
import { POSTGRES, startPostgres } from '../test/helpers/servers/postgres.js';
import type { ServerRequirements } from '../test/helpers/servers/support.js';
import {
  type EngineRig,
  mariadbRig,
  postgresRig,
  type RotationMode,
  runZeroDowntime,
} from '../test/helpers/zeroDowntime.js';

/** One figure for bench/run.ts's report. */
export interface ZeroDowntimeFigure {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

interface Engine {
  key: string;
  requirements: ServerRequirements;
  start(): Promise<{ rig: EngineRig; stop(): Promise<void> }>;
}

const ENGINES: Engine[] = [
  {
    key: 'postgres',
    requirements: POSTGRES,
    async start() {
      const server = await startPostgres();
      return { rig: postgresRig(server), stop: () => server.stop() };
    },
  },
  {
    key: 'mariadb',
    requirements: MARIADB,
    async start() {
      const server = await startMariadb();
      return { rig: await mariadbRig(server), stop: () => server.stop() };
    },
  },
];

const MODES: RotationMode[] = ['single-user', 'alternating-users'];

function positiveInt(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
}

/** Runs every engine the machine has in both modes; returns the figures, prints a table. */
export async function zeroDowntimeFigures(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ZeroDowntimeFigure[]> {
  const clients = positiveInt(env.ZERO_DOWNTIME_CLIENTS, 16);
  const rotations = positiveInt(env.ZERO_DOWNTIME_ROTATIONS, 10);
  const figures: ZeroDowntimeFigure[] = [];
  const rows: string[] = [];
  for (const engine of ENGINES) {
    if (!engine.requirements.binaries.every((path) => existsSync(path))) {
      rows.push(`| ${engine.key} | (skipped: install ${engine.requirements.install}) | | | | |`);
      continue;
    }
    const { rig, stop } = await engine.start();
    try {
      for (const mode of MODES) {
        const r = await runZeroDowntime(rig, { mode, clients, rotations });
        const prefix = `zeroDowntime.${engine.key}.${mode}`;
        const note = `K=${clients} clients per population, M=${rotations} rotations (${r.rotationStates.filter((s) => s === 'Succeeded').length} succeeded) in ${Math.round(r.durationMs)} ms`;
        figures.push(
          {
            name: `${prefix}.library.failedQueries`,
            value: r.library.failedQueries,
            unit: 'queries',
            note: `of ${r.library.queries + r.library.failedQueries}; ${note}`,
          },
          {
            name: `${prefix}.library.refusedLogins`,
            value: r.library.refusedLogins,
            unit: 'logins',
            note: `each retried; ${r.library.secretReads} GetSecretValue`,
          },
          {
            name: `${prefix}.baseline.failedQueries`,
            value: r.baseline.failedQueries,
            unit: 'queries',
            note: `of ${r.baseline.queries + r.baseline.failedQueries}; no library`,
          },
          {
            name: `${prefix}.baseline.refusedLogins`,
            value: r.baseline.refusedLogins,
            unit: 'logins',
            note: `AWSCURRENT read before each login; ${r.baseline.secretReads} GetSecretValue`,
          },
        );
        rows.push(
          `| ${rig.label} | ${mode} | ${r.library.failedQueries} | ${r.library.refusedLogins} | ${r.baseline.failedQueries} | ${r.baseline.refusedLogins} |`,
        );
      }
    } finally {
      await stop();
    }
  }
  process.stdout.write(
    `\nZero downtime under rotation (K=${clients}, M=${rotations}):\n| engine | mode | library failed queries | library refused logins | baseline failed queries | baseline refused logins |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n\n`,
  );
  return figures;
}
