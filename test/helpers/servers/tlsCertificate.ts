import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type ServerTls } from './support.js';

/**
 * A self-signed certificate for `127.0.0.1` and `localhost` (subjectAltName), made with the
 * openssl CLI; it is its own CA, so passing `cert` as `sslCa` makes verify-full succeed.
 */
export async function selfSignedCertificate(): Promise<ServerTls> {
  const dir = await mkdtemp(join(tmpdir(), 'rotator-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
