import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepTimeoutError } from '../../shared/errors.js';
import type { Connector, LoginTarget } from '../../shared/strategies/database/driver.js';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
import { connectMysql } from '../../shared/strategies/mysql/connect.js';
import { connectPostgres } from '../../shared/strategies/postgres/connect.js';
import { randomPassword } from '../helpers/credentials.js';

/** A TCP server that accepts connections and never answers: a hung database. */
let silent: Server;
let port = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const target = (): LoginTarget => ({
  host: '127.0.0.1',
  port,
  username: 'app',
  password: randomPassword(),
  dbname: undefined,
  tls: { mode: 'disable' },
});

describe.each([
  ['pg', connectPostgres],
  ['mysql2', connectMysql],
] as [string, Connector][])(
  '%s connector against a server that never answers',
  (_name, connect) => {
    it('fails after the connect timeout with a DatabaseConnectionError, without the password', async () => {
      const login = target();
      const started = Date.now();
      const error = await connect(login, {
        signal: new AbortController().signal,
        connectTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseConnectionError);
      expect((error as Error).message).toMatch(/Could not connect/);
      expect((error as Error).message).not.toContain(login.password);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('gives up as soon as the step signal aborts', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      const error = await connect(target(), {
        signal: controller.signal,
        connectTimeoutMs: 20_000,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepTimeoutError);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('refuses to start when the signal has already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(
        connect(target(), { signal: controller.signal, connectTimeoutMs: 1_000 }),
      ).rejects.toBeInstanceOf(StepTimeoutError);
    });
  },
);
