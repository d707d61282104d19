import { connect, createServer, type Server, type Socket } from 'node:net';

/** A command as a client sent it: its arguments, decoded as UTF-8. */
export type WireCommand = readonly string[];

/** A TCP proxy in front of a server that decodes every command clients send through it. */
export interface RecordingProxy {
  readonly port: number;
  /** Every complete RESP command clients sent, in order. */
  readonly commands: WireCommand[];
  close(): Promise<void>;
}

/**
 * Decodes RESP arrays of bulk strings (what clients send) from `buffer`; returns the
 * commands and the bytes of an incomplete trailing one.
 */
export function decodeCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let offset = 0;
  const line = (from: number) => {
    const end = buffer.indexOf('\r\n', from);
    return end === -1 ? undefined : { text: buffer.toString('utf8', from, end), next: end + 2 };
  };
  for (;;) {
    const start = offset;
    const header = line(offset);
    if (!header) break;
    if (!header.text.startsWith('*'))
      throw new Error('not a RESP array: inline commands are not expected');
    const count = Number(header.text.slice(1));
    let at = header.next;
    const args: string[] = [];
    let complete = true;
    for (let i = 0; i < count; i += 1) {
      const size = line(at);
      if (!size) {
        complete = false;
        break;
      }
      const length = Number(size.text.slice(1));
      if (buffer.length < size.next + length + 2) {
        complete = false;
        break;
      }
      args.push(buffer.toString('utf8', size.next, size.next + length));
      at = size.next + length + 2;
    }
    if (!complete) {
      offset = start;
      break;
    }
    commands.push(args);
    offset = at;
  }
  return { commands, rest: buffer.subarray(offset) };
}

/**
 * Starts a plaintext TCP proxy on a free loopback port that forwards to `host:port` and
 * records what clients send: the wire as the rotation function writes it.
 */
export async function recordingProxy(host: string, port: number): Promise<RecordingProxy> {
  const commands: WireCommand[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const decoded = decodeCommands(pending);
      commands.push(...decoded.commands);
      pending = decoded.rest;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    commands,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
