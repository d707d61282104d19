import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** PostgreSQL 15 server binaries (override with `PG_BIN`). */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** MariaDB server binaries. */
export const MARIADB_BINARIES = {
  installDb: '/usr/bin/mariadb-install-db',
  server: '/usr/sbin/mariadbd',
  client: '/usr/bin/mariadb',
  admin: '/usr/bin/mariadb-admin',
};

/** Whether a test file can start its server, and if not, why. */
export interface ServerSupport {
  readonly available: boolean;
  readonly reason: string;
}

/**
 * Checks that a server's binaries exist. Under `CI=true` a missing binary throws (the test
 * file fails with the message) instead of skipping: CI must never pass by not testing.
 */
export function serverSupport(kind: 'postgres' | 'mariadb'): ServerSupport {
  const needed =
    kind === 'postgres'
      ? [`${PG_BIN}/initdb`, `${PG_BIN}/pg_ctl`, `${PG_BIN}/postgres`]
      : Object.values(MARIADB_BINARIES);
  const missing = needed.filter((path) => !existsSync(path));
  if (missing.length === 0) return { available: true, reason: '' };
  const reason = `${kind} binaries missing (${missing.join(', ')}): install ${kind === 'postgres' ? 'postgresql-15' : 'mariadb-server mariadb-client'}`;
  if (process.env.CI === 'true')
    throw new Error(`Cannot start the ${kind} test server under CI=true: ${reason}`);
  return { available: false, reason };
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command, failing with its stderr (commands here never carry secrets in argv). */
export async function run(command: string, args: string[], input?: string): Promise<string> {
  try {
    if (input === undefined) {
      const { stdout } = await exec(command, args, { maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    }
    return await new Promise((resolve, reject) => {
      const child = execFile(
        command,
        args,
        { maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) reject(Object.assign(error, { stderr }));
          else resolve(stdout);
        },
      );
      child.stdin?.end(input);
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args[0] ?? ''} failed: ${(error as Error).message}\n${stderr}`);
  }
}

/** True when running as root (CI and the dev machine): servers then run as their own users. */
export const isRoot = () => process.getuid?.() === 0;

/** Polls `check` until it resolves true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
