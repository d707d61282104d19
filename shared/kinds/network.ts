import { isIP, Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { KindTarget } from './CredentialKind.js';
import { caBundleText } from './tls.js';

/** Outcome of a TCP connect. */
export interface ReachResult {
  readonly ok: boolean;
  readonly ms: number;
  readonly detail?: string;
}

/** Outcome of a TLS handshake check. */
export interface TlsResult {
  /** The server agreed to TLS. */
  readonly supported: boolean;
  /** The certificate chain and host name verified against the trust store (and `ca`). */
  readonly verified: boolean;
  /** Why not, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, `server refused TLS`. */
  readonly detail?: string;
  readonly protocol?: string;
}

/** Network error codes that mean "could not reach the target". */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);

/** A driver or socket error's code, `ETIMEDOUT` for timeouts reported only in the message. */
export function networkErrorCode(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.message === 'string' && /timeout|timed out/i.test(e.message)) return 'ETIMEDOUT';
  return 'unknown error';
}

/** Opens a TCP connection, failing with `ETIMEDOUT` after `timeoutMs`. */
export function connectSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
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

/**
 * Reads at least `count` bytes from `socket` (a kind's TLS preamble reads the server's
 * answer with it), failing when the server closes or stays silent for `timeoutMs`.
 */
export function readBytes(socket: Socket, count: number, timeoutMs: number): Promise<Buffer> {
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
      else resolve(buffer);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.resume();
  });
}

function handshake(
  socket: Socket | undefined,
  target: KindTarget,
  ca: string | undefined,
  timeoutMs: number,
): Promise<TlsResult> {
  return new Promise((resolve) => {
    const options: ConnectionOptions = {
      ...(socket ? { socket } : { port: target.port }),
      host: target.host,
      ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      ...(ca ? { ca } : {}),
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
      resolve({ supported: false, verified: false, detail: networkErrorCode(error) });
    });
  });
}

/** Whether a TCP connection to `host:port` opens, and how long it took. */
export async function reach(host: string, port: number, timeoutMs: number): Promise<ReachResult> {
  const started = performance.now();
  try {
    const socket = await connectSocket(host, port, timeoutMs);
    socket.destroy();
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      ms: Math.round(performance.now() - started),
      detail: networkErrorCode(error),
    };
  }
}

/**
 * Whether `target` serves TLS and whether its certificate verifies for its host name,
 * negotiating TLS the kind's way (`target.startTls`) or directly. A CA file that cannot be
 * read throws the same `SecretFormatError` as at connect time.
 */
export async function checkTls(target: KindTarget, timeoutMs: number): Promise<TlsResult> {
  const ca = await caBundleText(target.tls.ca);
  if (!target.startTls) return handshake(undefined, target, ca, timeoutMs);
  let socket: Socket;
  try {
    socket = await connectSocket(target.host, target.port, timeoutMs);
  } catch (error) {
    return { supported: false, verified: false, detail: networkErrorCode(error) };
  }
  try {
    if (!(await target.startTls(socket, timeoutMs))) {
      socket.destroy();
      return { supported: false, verified: false, detail: 'the server does not offer TLS' };
    }
    return await handshake(socket, target, ca, timeoutMs);
  } catch (error) {
    socket.destroy();
    return { supported: false, verified: false, detail: (error as Error).message };
  }
}
