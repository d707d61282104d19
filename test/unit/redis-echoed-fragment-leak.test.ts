import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createRotationLogger } from '../../shared/logging/logger.js';
import { SecretRegistry, scrubError } from '../../shared/logging/redaction.js';
import { connectRedis } from '../../shared/strategies/redis/connection.js';
import { captureLogs } from '../helpers/captureLogs.js';

// Redis answers a command it does not know (AUTH renamed away with rename-command, a proxy
// in front, a server without ACL) with "ERR unknown command '<name>', with args beginning
// with: '<arg1>' '<arg2>' ...", each argument cut so the list stays under 128 characters
// (server.c, commandCheckExistence). With a password longer than about 120 characters the
// reply quotes a prefix of it: a fragment, which whole-value scrubbing cannot find, and the
// driver error carrying it stays the `cause` of the connector's error, which the engine
// logs.

const PASSWORD = `Lp${'x7Qm9ZrT4vBn2KcW8yHs'.repeat(8)}`; // 162 characters
const servers: Server[] = [];
const sockets: Socket[] = [];
const logs = captureLogs();

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Redis 7's reply to an unknown command, built as server.c builds it. */
function unknownCommandReply(name: string, args: readonly string[]): string {
  let list = '';
  for (const arg of args) {
    if (list.length >= 128) break;
    list += `'${arg.slice(0, 128 - list.length)}' `;
  }
  return `-ERR unknown command '${name}', with args beginning with: ${list}\r\n`;
}

async function serverWithoutAuth(): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', () => socket.write(unknownCommandReply('AUTH', ['app', PASSWORD])));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('a Redis error reply quoting a cut AUTH argument', () => {
  it('no part of the password reaches the error or the rotation log line', async () => {
    // Prepare: the password is registered, as the engine registers every value it reads.
    const registry = new SecretRegistry();
    const logger = createRotationLogger({ registry });
    const fragment = PASSWORD.slice(0, 100);
    const port = await serverWithoutAuth();
    // Act: log in, fail, and log the error the way rotationHandler does.
    await registry.runInScope(async () => {
      registry.register(PASSWORD);
      const error = await connectRedis(
        {
          host: '127.0.0.1',
          port,
          username: 'app',
          password: PASSWORD,
          tls: { mode: 'disable' },
        },
        { signal: new AbortController().signal, connectTimeoutMs: 2_000 },
      ).catch((e: unknown) => e);
      scrubError(error, registry);
      expect(inspect(error, { depth: 10 }).includes(fragment), 'the error carries it').toBe(false);
      logger.error('Rotation step failed', { error: error as Error });
    });
    // Assess
    logs.assertNoneContain([fragment]);
  });
});
