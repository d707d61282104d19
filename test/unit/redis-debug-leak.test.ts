import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';

// DEBUG=ioredis:* (or DEBUG=*) is the usual first step when a Redis connection misbehaves,
// and it is set through the function's environment. ioredis then writes every command with
// its arguments ("write command[...] -> auth([...])") straight to stderr, which Lambda sends
// to CloudWatch: past the logger, so nothing scrubs it.

const PASSWORD = 'pw-Debug-Leak-Secret-0123456789';
const HASH = aclPasswordHash(PASSWORD);
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A RESP server answering +OK to everything (AUTH, ACL SETUSER), closing after QUIT. */
async function okServer(): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      const commands = chunk
        .toString('utf8')
        .split('\r\n')
        .filter((l) => l.startsWith('*'));
      socket.write('+OK\r\n'.repeat(Math.max(1, commands.length)));
      if (/quit/i.test(chunk.toString('utf8'))) socket.end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function runFixture(port: number, debug: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/redisDebugLeak.ts', String(port), PASSWORD, HASH],
      { env: { ...process.env, DEBUG: debug }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('Redis kind with DEBUG set in the function environment', () => {
  it.each(['ioredis:*', '*'])(
    'DEBUG=%s: no password or ACL hash reaches the process output',
    async (debug) => {
      const { code, output } = await runFixture(await okServer(), debug);
      expect(code, output.replaceAll(PASSWORD, '<PASSWORD>').replaceAll(HASH, '<HASH>')).toBe(0);
      expect(output.includes(PASSWORD), 'the password is in the output').toBe(false);
      expect(output.includes(HASH), 'the ACL SHA-256 hash is in the output').toBe(false);
    },
    30_000,
  );
});
