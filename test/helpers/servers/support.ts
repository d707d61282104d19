/**
 * What every test-server starter shares (`test/helpers/servers/<server>.ts`, one file per
 * server). A starter declares its requirements once and exports its start function:
 *
 * ```ts
 * // test/helpers/servers/<server>.ts
 * export const VALKEY: ServerRequirements = {
 *   name: 'valkey',
 *   binaries: ['/usr/bin/valkey-server'],
 *   install: 'valkey-server', // the Debian package; add it to .ci/run's list too
 * };
 * export interface ValkeyServer extends TestServer { ... }
 * export async function startValkey(options: { tls?: ServerTls } = {}): Promise<ValkeyServer> {
 *   const port = await freePort(); // loopback, temporary directory, random admin password...
 * }
 *
 * // a test file
 * const support = serverSupport(VALKEY);
 * describe.skipIf(!support.available)(`... (real server) ${support.reason}`, () => { ... });
 * ```
 *
 * {@link serverSupport} applies the one rule: outside CI a missing binary skips the file
 * with the reason; under `CI=true` it fails the file.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** TLS material for a server: PEM certificate and key. */
export interface ServerTls {
  readonly cert: string;
  readonly key: string;
}

/** What every started server offers: where it listens, its admin login, and how to stop it. */
export interface TestServer {
  readonly host: string;
  readonly port: number;
  /** An administrator with a random name and password. */
  readonly admin: { readonly username: string; readonly password: string };
  /** Stops the server and removes its temporary directory. */
  stop(): Promise<void>;
}

/** What a test server needs from the machine, declared once in its starter. */
export interface ServerRequirements {
  /** Short name for messages: `postgres`, `mariadb`. */
  readonly name: string;
  /** Absolute paths of the binaries the starter runs. */
  readonly binaries: readonly string[];
  /** The Debian packages that provide them (what `.ci/run` installs when they are missing). */
  readonly install: string;
}

/** Whether a test file can start its server, and if not, why. */
export interface ServerSupport {
  readonly available: boolean;
  readonly reason: string;
}

/**
 * Checks that a server's binaries exist. Outside CI a missing binary skips the test file with
 * the reason; under `CI=true` it throws (the test file fails with the message) instead:
 * CI must never pass by not testing.
 */
export function serverSupport(server: ServerRequirements): ServerSupport {
  const missing = server.binaries.filter((path) => !existsSync(path));
  if (missing.length === 0) return { available: true, reason: '' };
  const reason = `${server.name} binaries missing (${missing.join(', ')}): install ${server.install}`;
  if (process.env.CI === 'true')
    throw new Error(`Cannot start the ${server.name} test server under CI=true: ${reason}`);
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
