import type { Socket } from 'node:net';
import { readBytes } from '../../kinds/network.js';

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

/**
 * MySQL negotiates TLS inside its protocol: read the server's handshake (v10), check the
 * CLIENT_SSL capability, answer with an SSLRequest packet; TLS starts next. Resolves false
 * when the server does not offer TLS. Used by operator checks of a server's TLS.
 */
export async function startMysqlTls(socket: Socket, timeoutMs: number): Promise<boolean> {
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
