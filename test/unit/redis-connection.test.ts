import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { StepTimeoutError } from '../../shared/errors.js';
import { connectRedis } from '../../shared/strategies/redis/connection.js';
import {
  RedisCommandError,
  RedisConnectionError,
  RedisLoginRefusedError,
} from '../../shared/strategies/redis/errors.js';
import { freePort } from '../helpers/servers/support.js';

const PASSWORD = 'pw-Very-Secret-123';
const servers: Server[] = [];
const sockets: Socket[] = [];

/** A TCP server on a free port that answers each chunk with `answer(chunk)` (or never). */
async function fakeServer(answer?: (chunk: string) => string | undefined): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      const reply = answer?.(chunk.toString('utf8'));
      if (reply !== undefined) socket.write(reply);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const login = (port: number, mode: 'disable' | 'require' = 'disable') => ({
  host: '127.0.0.1',
  port,
  username: 'app',
  password: PASSWORD,
  tls: { mode },
});
const options = (signal = new AbortController().signal, connectTimeoutMs = 2_000) => ({
  signal,
  connectTimeoutMs,
});

describe('connectRedis', () => {
  it('a refused connection is a RedisConnectionError with the code, naming the target and user, not the password', async () => {
    const error = await connectRedis(login(await freePort()), options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect(error).not.toBeInstanceOf(RedisLoginRefusedError);
    expect((error as RedisConnectionError).code).toBe('ECONNREFUSED');
    expect((error as Error).message).toMatch(/Redis at 127\.0\.0\.1:\d+ as user "app"/);
    expect(inspect(error, { depth: 5 })).not.toContain(PASSWORD);
  });

  it('WRONGPASS is a RedisLoginRefusedError, and no error object carries the AUTH arguments', async () => {
    const port = await fakeServer(() => '-WRONGPASS invalid username-password pair\r\n');
    const error = await connectRedis(login(port), options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisLoginRefusedError);
    expect((error as RedisLoginRefusedError).code).toBe('WRONGPASS');
    expect(inspect(error, { depth: 5 })).not.toContain(PASSWORD);
  });

  it('the first command is AUTH with user and password (no HELLO, no CLIENT SETINFO before it)', async () => {
    const received: string[] = [];
    const port = await fakeServer((chunk) => {
      received.push(chunk);
      return chunk.includes('PING') ? '+PONG\r\n' : '+OK\r\n';
    });
    const session = await connectRedis(login(port), options());
    await expect(session.command('ping', ['PING'])).resolves.toBe('PONG');
    await session.close();
    expect(received[0]).toBe(
      `*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$${PASSWORD.length}\r\n${PASSWORD}\r\n`,
    );
  });

  it('an error reply to a command is a RedisCommandError with the code, its cause without the arguments', async () => {
    const port = await fakeServer((chunk) =>
      chunk.includes('AUTH')
        ? '+OK\r\n'
        : `-ERR Error in ACL SETUSER modifier '#abc': Syntax error\r\n`,
    );
    const session = await connectRedis(login(port), options());
    const error = await session
      .command('add password hash', ['ACL', 'SETUSER', 'app', '#abc'])
      .catch((e: unknown) => e);
    await session.close();
    expect(error).toBeInstanceOf(RedisCommandError);
    expect((error as Error).message).toBe('Redis add password hash failed (ERR)');
    expect((error as RedisCommandError).code).toBe('ERR');
    expect((error as { cause?: { command?: unknown } }).cause?.command).toBeUndefined();
  });

  it('a server that never answers: the step abort ends the login with a StepTimeoutError', async () => {
    const port = await fakeServer();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await connectRedis(login(port), options(controller.signal)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StepTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a TLS handshake that never completes fails at the connect timeout, without falling back', async () => {
    const received: string[] = [];
    const port = await fakeServer((chunk) => {
      received.push(chunk);
      return undefined;
    });
    const error = await connectRedis(login(port, 'require'), options(undefined, 200)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as Error).message).toMatch(/ETIMEDOUT/);
    expect(received.join('')).not.toContain('AUTH');
  });
});
