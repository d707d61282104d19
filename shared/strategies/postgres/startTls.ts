import type { Socket } from 'node:net';
import { readBytes } from '../../kinds/network.js';

/**
 * PostgreSQL's SSLRequest (length 8, code 80877103) on a connected socket: the server
 * answers `S` (go ahead with TLS) or `N`. Used by operator checks of a server's TLS.
 */
export async function startPostgresTls(socket: Socket, timeoutMs: number): Promise<boolean> {
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80_877_103, 4);
  socket.write(request);
  const answer = await readBytes(socket, 1, timeoutMs);
  return answer[0] === 0x53;
}
