import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoginTarget } from '../../shared/strategies/database/driver.js';
import { connectMysql } from '../../shared/strategies/mysql/connect.js';
import { connectPostgres } from '../../shared/strategies/postgres/connect.js';

const pw = () => randomBytes(12).toString('base64url');

// Fake servers that record every byte a client sends: the admin's password must not reach
// the wire before the gate opens (alternating setSecret's confused-deputy check).

interface Recorder {
  server: Server;
  port: number;
  received: Buffer[];
  connections: number;
  sockets: Set<Socket>;
}

async function recorder(
  onData: (socket: Socket, chunk: Buffer, r: Recorder) => void,
): Promise<Recorder> {
  const r: Recorder = {
    server: createServer(),
    port: 0,
    received: [],
    connections: 0,
    sockets: new Set(),
  };
  r.server.on('connection', (socket) => {
    r.connections += 1;
    r.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      r.received.push(chunk);
      onData(socket, chunk, r);
    });
  });
  await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.port = (r.server.address() as { port: number }).port;
  return r;
}

async function closeRecorder(r: Recorder): Promise<void> {
  for (const s of r.sockets) s.destroy();
  await new Promise((resolve) => r.server.close(resolve));
}

/** An admin login to a fake server on loopback, with a random password. */
const target = (port: number): LoginTarget => ({
  host: '127.0.0.1',
  port,
  username: 'admin',
  password: pw(),
  dbname: undefined,
  tls: { mode: 'disable' },
});

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

describe('ConnectOptions.authorize in the real connectors (the admin login gate)', () => {
  let pgServer: Recorder;
  let silentMysql: Recorder;
  beforeAll(async () => {
    // PostgreSQL: asks for a cleartext password after the startup message; accepts any.
    pgServer = await recorder((socket, chunk) => {
      if (chunk[0] === 0x70 /* 'p' */) {
        socket.write(Buffer.concat([Buffer.from('R'), int32(8), int32(0)]));
        socket.write(Buffer.concat([Buffer.from('Z'), int32(5), Buffer.from('I')]));
      } else {
        socket.write(Buffer.concat([Buffer.from('R'), int32(8), int32(3)]));
      }
    });
    silentMysql = await recorder(() => {});
  });
  afterAll(async () => {
    await Promise.all([closeRecorder(pgServer), closeRecorder(silentMysql)]);
  });

  it('pg: a closed gate sends no password, and the error names none', async () => {
    pgServer.received.length = 0;
    const login = target(pgServer.port);
    let close!: (e: unknown) => void;
    const gate = new Promise((_r, reject) => {
      close = reject;
    });
    gate.catch(() => {});
    setTimeout(() => close(new Error('current login refused')), 150);
    const error = await connectPostgres(login, {
      signal: new AbortController().signal,
      connectTimeoutMs: 2_000,
      authorize: gate,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const wire = Buffer.concat(pgServer.received).toString('latin1');
    expect(wire).toContain('admin');
    expect(wire).not.toContain(login.password);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(login.password);
    expect(String((error as Error).message)).not.toContain(login.password);
  });

  it('pg: the password goes out only after the gate opens', async () => {
    pgServer.received.length = 0;
    const login = target(pgServer.port);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const session = connectPostgres(login, {
      signal: new AbortController().signal,
      connectTimeoutMs: 2_000,
      authorize: gate,
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(Buffer.concat(pgServer.received).toString('latin1')).not.toContain(login.password);
    open();
    await (await session).close();
    expect(Buffer.concat(pgServer.received).toString('latin1')).toContain(login.password);
  });

  it('mysql: nothing is opened before the gate, and a closed gate connects nowhere', async () => {
    silentMysql.connections = 0;
    let close!: (e: unknown) => void;
    const gate = new Promise((_r, reject) => {
      close = reject;
    });
    gate.catch(() => {});
    const pending = connectMysql(target(silentMysql.port), {
      signal: new AbortController().signal,
      connectTimeoutMs: 500,
      authorize: gate,
    }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    expect(silentMysql.connections).toBe(0);
    close(new Error('current login refused'));
    expect(((await pending) as Error).message).toBe('current login refused');
    expect(silentMysql.connections).toBe(0);
  });
});

describe('a gate that closes before the server asks for the password', () => {
  /** Accepts and never answers: an admin connection still in its handshake. */
  let silent: Recorder;
  beforeAll(async () => {
    silent = await recorder(() => {});
  });
  afterAll(() => closeRecorder(silent));
  const login = () => target(silent.port);
  /** Settles like `p`, or resolves 'still pending' after `ms`. */
  const within = (p: Promise<unknown>, ms: number) =>
    Promise.race([
      p.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r('still pending'), ms)),
    ]);
  const options = (authorize: Promise<unknown>) => ({
    // Never aborts, as when the step has time left; 300 ms, doubled behind a gate.
    signal: new AbortController().signal,
    connectTimeoutMs: 300,
    authorize,
  });

  it('pg: already closed when the connect starts: the connect fails at once (it hung until the Lambda timeout)', async () => {
    const gate = Promise.reject(new Error('current login refused'));
    gate.catch(() => {});
    const result = await within(connectPostgres(login(), options(gate)), 3_000);
    expect(result).toBeInstanceOf(Error);
  });

  it('pg: closed mid-handshake: the connect fails at once', async () => {
    let close!: (e: unknown) => void;
    const gate = new Promise((_r, reject) => {
      close = reject;
    });
    gate.catch(() => {});
    const connect = connectPostgres(login(), options(gate));
    setTimeout(() => close(new Error('current login refused')), 50);
    expect(await within(connect, 3_000)).toBeInstanceOf(Error);
  });

  it('mysql: already closed: fails with the reason and connects nowhere', async () => {
    const gate = Promise.reject(new Error('current login refused'));
    gate.catch(() => {});
    const result = await within(connectMysql(login(), options(gate)), 3_000);
    expect((result as Error).message).toBe('current login refused');
  });
});

/** A pg admin login to `port` behind a gate the test opens or closes; settles to the session or error. */
function gatedPgLogin(port: number) {
  const login = target(port);
  let open!: () => void;
  let close!: (e: unknown) => void;
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    close = reject;
  });
  gate.catch(() => {});
  const connect = connectPostgres(login, {
    signal: new AbortController().signal,
    connectTimeoutMs: 2_000,
    authorize: gate,
  }).catch((e: unknown) => e);
  return { login, connect, open, close: () => close(new Error('current login refused')) };
}

describe('the admin login gate under SCRAM (pg)', () => {
  // Asks for SCRAM-SHA-256, answers the client's first message, and records the proof.
  let scram: Recorder;
  // Asks for SCRAM-SHA-256, then, after the client's first message, for the password in clear.
  let downgrade: Recorder;
  beforeAll(async () => {
    downgrade = await recorder((socket, chunk, r) => {
      if (chunk.toString('latin1').includes('n,,n=')) {
        socket.write(Buffer.concat([Buffer.from('R'), int32(8), int32(3)]));
      } else if (!Buffer.concat(r.received).toString('latin1').includes('n,,n=')) {
        const mechanisms = Buffer.from('SCRAM-SHA-256\0\0');
        socket.write(
          Buffer.concat([Buffer.from('R'), int32(8 + mechanisms.length), int32(10), mechanisms]),
        );
      }
    });
    scram = await recorder((socket, chunk, r) => {
      const wire = Buffer.concat(r.received).toString('latin1');
      const first = /n,,n=[^,]*,r=([A-Za-z0-9+/=]+)/.exec(chunk.toString('latin1'));
      if (first && !wire.includes('c=biws')) {
        const data = Buffer.from(
          `r=${first[1]}server,s=${randomBytes(16).toString('base64')},i=4096`,
        );
        socket.write(Buffer.concat([Buffer.from('R'), int32(8 + data.length), int32(11), data]));
      } else if (!wire.includes('n,,n=')) {
        const mechanisms = Buffer.from('SCRAM-SHA-256\0\0');
        socket.write(
          Buffer.concat([Buffer.from('R'), int32(8 + mechanisms.length), int32(10), mechanisms]),
        );
      }
    });
  });
  afterAll(() => Promise.all([closeRecorder(scram), closeRecorder(downgrade)]));
  const wire = () => Buffer.concat(scram.received).toString('latin1');
  const until = async (test: () => boolean) => {
    for (let i = 0; i < 100 && !test(); i++) await new Promise((r) => setTimeout(r, 20));
  };

  it('sends the first message before the gate opens and the proof only after it opens', async () => {
    scram.received.length = 0;
    const { login, connect, open } = gatedPgLogin(scram.port);
    await until(() => wire().includes('n,,n='));
    await new Promise((r) => setTimeout(r, 100));
    expect(wire()).toContain('n,,n=');
    expect(wire()).not.toContain('c=biws');
    open();
    await until(() => wire().includes('c=biws'));
    expect(wire()).toMatch(/c=biws,r=[^,]+server,p=/);
    expect(wire()).not.toContain(login.password);
    for (const socket of scram.sockets) socket.destroy();
    await connect;
  });

  it('a gate that closes sends no proof', async () => {
    scram.received.length = 0;
    const { connect, close } = gatedPgLogin(scram.port);
    await until(() => wire().includes('n,,n='));
    close();
    expect(await connect).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 50));
    expect(wire()).not.toContain('c=biws');
  });

  it('a server that asks for SCRAM, then for the password in clear, gets nothing while the gate is closed (found in review)', async () => {
    downgrade.received.length = 0;
    const { login, connect, close } = gatedPgLogin(downgrade.port);
    await new Promise((r) => setTimeout(r, 300));
    close();
    expect(await connect).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 50));
    const sent = Buffer.concat(downgrade.received).toString('latin1');
    expect(sent).toContain('n,,n=');
    expect(sent).not.toContain(login.password);
  });
});
