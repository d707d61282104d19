import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { randomPassword, randomSuffix } from '../credentials.js';
import type { ServerTls } from './support.js';
import {
  freePort,
  type ServerRequirements,
  serverSupport,
  type TestServer,
  waitFor,
} from './support.js';

/** Debian's redis-server (override with `REDIS_SERVER`). */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** What the Redis starter needs from the machine. */
export const REDIS: ServerRequirements = {
  name: 'redis',
  binaries: [REDIS_SERVER],
  install: 'redis-server',
};

/**
 * Whether a test file can start its server: outside CI a missing binary skips the file with
 * the reason, under `CI=true` it fails the file.
 */
export const redisSupport = () => serverSupport(REDIS);

/** One line MONITOR printed: the command's arguments as the server saw them. */
export interface MonitoredCommand {
  readonly args: readonly string[];
  readonly source: string;
}

/** A running MONITOR on its own admin connection. */
export interface RedisMonitor {
  readonly commands: MonitoredCommand[];
  stop(): Promise<void>;
}

/** A Redis 7 instance of our own, with ACL users only (`default` is off). */
export interface RedisServer extends TestServer {
  /** The ACL file the server loads and `ACL SAVE` writes; `undefined` when started without one. */
  readonly aclFile: string | undefined;
  /** The certificate the server presents (its own CA), when started with TLS. */
  readonly cert: string | undefined;
  /** Runs one command as the admin. */
  command(...args: string[]): Promise<unknown>;
  /** Creates or replaces a user with `rules` and `password` (sent as its hash). */
  createUser(username: string, password: string, rules?: readonly string[]): Promise<void>;
  /** Whether `username`/`password` authenticates now. */
  canLogin(username: string, password: string): Promise<boolean>;
  /** Starts MONITOR on a separate admin connection. */
  monitor(): Promise<RedisMonitor>;
  readAclFile(): Promise<string>;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * Starts a private redis-server on a free loopback port in a temporary directory: an ACL
 * file (unless `aclFile: false`, then the users live in memory only) holding `default`
 * off and a random admin, no persistence. Pass `tls` to serve TLS only, with that
 * certificate. Never the machine's own Redis on 6379.
 */
export async function startRedis(
  options: { tls?: ServerTls; aclFile?: boolean } = {},
): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rotator-redis-'));
  const admin = { username: `admin_${randomSuffix()}`, password: randomPassword(32) };
  const port = await freePort();
  const host = '127.0.0.1';
  const args = ['--bind', host, '--dir', dir, '--save', '', '--appendonly', 'no'];
  args.push('--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning');
  const users = `user default off\nuser ${admin.username} on #${sha256(admin.password)} ~* &* +@all\n`;
  let aclFile: string | undefined;
  if (options.aclFile === false) {
    // Without an ACL file, users come from the configuration: a generated redis.conf.
    const conf = join(dir, 'redis.conf');
    await writeFile(conf, users, { mode: 0o600 });
    args.unshift(conf);
  } else {
    aclFile = join(dir, 'users.acl');
    await writeFile(aclFile, users, { mode: 0o600 });
    args.push('--aclfile', aclFile);
  }
  if (options.tls) {
    await writeFile(join(dir, 'cert.pem'), options.tls.cert);
    await writeFile(join(dir, 'key.pem'), options.tls.key, { mode: 0o600 });
    args.push('--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no');
    args.push('--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'));
  } else {
    args.push('--port', String(port));
  }
  const child: ChildProcess = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });

  const client = async (username: string, password: string): Promise<Redis> => {
    const redis = new Redis({
      host,
      port,
      ...(options.tls ? { tls: { ca: options.tls.cert, servername: 'localhost' } } : {}),
      lazyConnect: true,
      protocol: 2,
      enableReadyCheck: false,
      disableClientInfo: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 5_000,
    });
    redis.on('error', () => {});
    await redis.connect();
    try {
      await redis.call('AUTH', username, password);
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    return redis;
  };
  const asAdmin = async <T>(work: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = await client(admin.username, admin.password);
    try {
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  };
  try {
    await waitFor('redis-server to accept the admin', () => asAdmin(async () => true), 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not start: ${(error as Error).message}\n${output}`);
  }

  return {
    host,
    port,
    admin,
    aclFile,
    cert: options.tls?.cert,
    command: (...commandArgs) =>
      asAdmin((redis) => redis.call(commandArgs[0] as string, ...commandArgs.slice(1))),
    async createUser(username, password, rules = ['~*', '&*', '+@all']) {
      await asAdmin((redis) =>
        redis.call('ACL', 'SETUSER', username, 'reset', 'on', `#${sha256(password)}`, ...rules),
      );
    },
    async canLogin(username, password) {
      try {
        (await client(username, password)).disconnect();
        return true;
      } catch (error) {
        if (/^WRONGPASS/.test((error as Error).message)) return false;
        throw error;
      }
    },
    async monitor() {
      // monitor() opens a duplicate connection from these options: it authenticates itself.
      const redis = new Redis({
        host,
        port,
        ...(options.tls ? { tls: { ca: options.tls.cert, servername: 'localhost' } } : {}),
        username: admin.username,
        password: admin.password,
        lazyConnect: true,
        protocol: 2,
        disableClientInfo: true,
        retryStrategy: () => null,
      });
      redis.on('error', () => {});
      const monitor = await redis.monitor();
      const commands: MonitoredCommand[] = [];
      monitor.on('monitor', (_time: string, commandArgs: string[], source: string) => {
        commands.push({ args: commandArgs, source });
      });
      return {
        commands,
        async stop() {
          monitor.disconnect();
          redis.disconnect();
        },
      };
    },
    readAclFile: () => (aclFile ? readFile(aclFile, 'utf8') : Promise.resolve('')),
    async stop() {
      child.kill('SIGKILL');
      await new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
        else child.once('exit', resolve);
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
