import { readFileSync } from 'node:fs';
import { isIP, Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  parseTlsSettings,
  type TlsSettings,
  unreadableCaFile,
} from '../../shared/strategies/database/tls.js';
import { defaultPort } from './strategy.js';

/** A database login as a secret version describes it. */
export interface DatabaseLogin {
  engine: 'postgres' | 'mysql';
  host: string;
  port: number;
  username: string;
  password: string;
  dbname?: string;
  /** TLS as the rotation function would use it. */
  sslMode: 'disable' | 'require' | 'verify-full';
  /** PEM text of a CA bundle, when the secret names one. */
  ca?: string;
}

/** Outcome of trying a login. `detail` is an error code or short reason, never a value. */
export interface LoginResult {
  outcome: 'accepted' | 'rejected' | 'unreachable' | 'error';
  detail?: string;
}

/** Outcome of a TCP connect. */
export interface ReachResult {
  ok: boolean;
  ms: number;
  detail?: string;
}

/** Outcome of a TLS handshake check. */
export interface TlsResult {
  /** The server agreed to TLS. */
  supported: boolean;
  /** The certificate chain and host name verified against the trust store (and `ca`). */
  verified: boolean;
  /** Why not, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, `server refused TLS`. */
  detail?: string;
  protocol?: string;
}

/**
 * What the operator commands need from the network. The default talks to real servers;
 * tests pass fakes (no module mocking).
 */
export interface Prober {
  reach(host: string, port: number, timeoutMs: number): Promise<ReachResult>;
  tls(
    kind: 'postgres' | 'mysql' | 'direct',
    target: { host: string; port: number; ca?: string },
    timeoutMs: number,
  ): Promise<TlsResult>;
  login(login: DatabaseLogin, timeoutMs: number): Promise<LoginResult>;
}

/**
 * The CA bundle a login uses: PEM text as given, or the file the functions would read. An
 * unreadable file is the same `SecretFormatError` as in the functions' testSecret.
 */
function caText(tls: TlsSettings): string | undefined {
  if (tls.ca === undefined || tls.ca.startsWith('-----BEGIN')) return tls.ca;
  try {
    return readFileSync(tls.ca, 'utf8');
  } catch (error) {
    throw unreadableCaFile(error);
  }
}

/**
 * The login a secret version describes, or `undefined` when it lacks host/username/password.
 * `defaultSslMode` is the function's DEFAULT_SSL_MODE (verify-full when unknown). TLS fields
 * are read by the functions' own `parseTlsSettings`, so a secret the functions refuse (a
 * contradictory `ssl`/`sslMode`, a relative or unreadable `sslCa`) throws the same
 * {@link SecretFormatError} here, naming the field.
 */
export function loginFromSecret(
  engine: 'postgres' | 'mysql',
  json: Record<string, unknown> | undefined,
  defaultSslMode: DatabaseLogin['sslMode'] = 'verify-full',
): DatabaseLogin | undefined {
  if (!json) return undefined;
  const { host, username, password } = json;
  if (typeof host !== 'string' || typeof username !== 'string' || typeof password !== 'string') {
    return undefined;
  }
  const port = Number(json.port ?? defaultPort(engine));
  const tls = parseTlsSettings(json, defaultSslMode);
  const ca = caText(tls);
  return {
    engine,
    host,
    port: Number.isInteger(port) && port > 0 ? port : defaultPort(engine),
    username,
    password,
    ...(typeof json.dbname === 'string' && json.dbname !== '' ? { dbname: json.dbname } : {}),
    sslMode: tls.mode,
    ...(ca ? { ca } : {}),
  };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; errno?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.message === 'string' && /timeout|timed out/i.test(e.message)) return 'ETIMEDOUT';
  return 'unknown error';
}

function tlsOptions(login: DatabaseLogin): ConnectionOptions | false {
  if (login.sslMode === 'disable') return false;
  if (login.sslMode === 'require') return { rejectUnauthorized: false };
  return {
    rejectUnauthorized: true,
    ...(isIP(login.host) === 0 ? { servername: login.host } : {}),
    ...(login.ca ? { ca: login.ca } : {}),
  };
}

async function pgLogin(login: DatabaseLogin, timeoutMs: number): Promise<LoginResult> {
  const ssl = tlsOptions(login);
  const client = new pg.Client({
    host: login.host,
    port: login.port,
    user: login.username,
    password: login.password,
    database: login.dbname ?? 'postgres',
    connectionTimeoutMillis: timeoutMs,
    ssl: ssl === false ? false : ssl,
  });
  // A late socket error must not crash the CLI after we have our answer.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { outcome: 'accepted' };
  } catch (error) {
    const code = errorCode(error);
    // 28P01 invalid_password, 28000 invalid_authorization_specification (no such role, pg_hba).
    if (code === '28P01' || code === '28000') return { outcome: 'rejected', detail: code };
    if (NETWORK_CODES.has(code)) return { outcome: 'unreachable', detail: code };
    return { outcome: 'error', detail: code };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function mysqlLogin(login: DatabaseLogin, timeoutMs: number): Promise<LoginResult> {
  const ssl = tlsOptions(login);
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({
      host: login.host,
      port: login.port,
      user: login.username,
      password: login.password,
      ...(login.dbname ? { database: login.dbname } : {}),
      connectTimeout: timeoutMs,
      ...(ssl === false ? {} : { ssl: ssl as mysql.SslOptions }),
    });
    await connection.query('SELECT 1');
    return { outcome: 'accepted' };
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
      return { outcome: 'rejected', detail: code };
    }
    if (NETWORK_CODES.has(code)) return { outcome: 'unreachable', detail: code };
    return { outcome: 'error', detail: code };
  } finally {
    await connection?.end().catch(() => undefined);
  }
}

function connectSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.connect(port, host, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function readBytes(socket: Socket, count: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no answer from the server')), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= count) finish();
    };
    const onEnd = () => finish(new Error('the server closed the connection'));
    function finish(error?: Error) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (error) reject(error);
      else {
        // Anything past `count` belongs to the next read; the handshakes here never send more.
        resolve(buffer);
      }
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.resume();
  });
}

/** PostgreSQL's SSLRequest: length 8, code 80877103; the server answers `S` or `N`. */
async function startPostgresTls(socket: Socket, timeoutMs: number): Promise<boolean> {
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80_877_103, 4);
  socket.write(request);
  const answer = await readBytes(socket, 1, timeoutMs);
  return answer[0] === 0x53;
}

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

/**
 * MySQL negotiates TLS inside its protocol: read the server's handshake (v10), check the
 * CLIENT_SSL capability, answer with an SSLRequest packet, then start TLS.
 */
async function startMysqlTls(socket: Socket, timeoutMs: number): Promise<boolean> {
  const header = await readBytes(socket, 4, timeoutMs);
  const length = header.readUIntLE(0, 3);
  const packet =
    header.length >= 4 + length
      ? header
      : Buffer.concat([header, await readBytes(socket, 4 + length - header.length, timeoutMs)]);
  const payload = packet.subarray(4, 4 + length);
  if (payload[0] === 0xff) throw new Error('the server sent an error instead of a handshake');
  const versionEnd = payload.indexOf(0, 1);
  // protocol(1) version(NUL) connection id(4) auth data(8) filler(1) capabilities low(2)
  const capabilities = payload.readUInt16LE(versionEnd + 1 + 4 + 8 + 1);
  if ((capabilities & CLIENT_SSL) === 0) return false;
  const request = Buffer.alloc(4 + 32);
  request.writeUIntLE(32, 0, 3);
  request.writeUInt8(1, 3);
  request.writeUInt32LE(
    CLIENT_LONG_PASSWORD |
      CLIENT_PROTOCOL_41 |
      CLIENT_SSL |
      CLIENT_SECURE_CONNECTION |
      CLIENT_PLUGIN_AUTH,
    4,
  );
  request.writeUInt32LE(0x01000000, 8);
  request.writeUInt8(45, 12); // utf8mb4_general_ci
  socket.write(request);
  return true;
}

function handshake(
  socket: Socket | undefined,
  target: { host: string; port: number; ca?: string },
  timeoutMs: number,
): Promise<TlsResult> {
  return new Promise((resolve) => {
    const options: ConnectionOptions = {
      ...(socket ? { socket } : { host: target.host, port: target.port }),
      host: target.host,
      ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      ...(target.ca ? { ca: target.ca } : {}),
      // Verified below from authorized/authorizationError, so that an unverifiable
      // certificate is reported rather than just failing the connection.
      rejectUnauthorized: false,
    };
    let tls: TLSSocket | undefined;
    const timer = setTimeout(() => {
      tls?.destroy();
      resolve({ supported: false, verified: false, detail: 'TLS handshake timed out' });
    }, timeoutMs);
    tls = tlsConnect(options, () => {
      clearTimeout(timer);
      const result: TlsResult = {
        supported: true,
        verified: tls?.authorized === true,
        ...(tls?.authorized ? {} : { detail: String(tls?.authorizationError ?? 'not verified') }),
        ...(tls?.getProtocol() ? { protocol: String(tls.getProtocol()) } : {}),
      };
      tls?.destroy();
      resolve(result);
    });
    tls.once('error', (error) => {
      clearTimeout(timer);
      tls?.destroy();
      resolve({ supported: false, verified: false, detail: errorCode(error) });
    });
  });
}

/** The real network. */
export const networkProber: Prober = {
  async reach(host, port, timeoutMs) {
    const started = performance.now();
    try {
      const socket = await connectSocket(host, port, timeoutMs);
      socket.destroy();
      return { ok: true, ms: Math.round(performance.now() - started) };
    } catch (error) {
      return { ok: false, ms: Math.round(performance.now() - started), detail: errorCode(error) };
    }
  },
  async tls(kind, target, timeoutMs) {
    if (kind === 'direct') return handshake(undefined, target, timeoutMs);
    let socket: Socket;
    try {
      socket = await connectSocket(target.host, target.port, timeoutMs);
    } catch (error) {
      return { supported: false, verified: false, detail: errorCode(error) };
    }
    try {
      const agreed =
        kind === 'postgres'
          ? await startPostgresTls(socket, timeoutMs)
          : await startMysqlTls(socket, timeoutMs);
      if (!agreed) {
        socket.destroy();
        return { supported: false, verified: false, detail: 'the server does not offer TLS' };
      }
      return await handshake(socket, target, timeoutMs);
    } catch (error) {
      socket.destroy();
      return { supported: false, verified: false, detail: (error as Error).message };
    }
  },
  login(login, timeoutMs) {
    return login.engine === 'postgres' ? pgLogin(login, timeoutMs) : mysqlLogin(login, timeoutMs);
  },
};
