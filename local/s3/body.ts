import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from './xml.js';

/** Largest object body the twin accepts (S3's single PUT allows 5 GiB; a twin needs less). */
export const MAX_OBJECT_BYTES = 16 * 1_048_576;

/**
 * Decodes an `aws-chunked` body (SigV4 streaming, with or without trailing checksums):
 * `<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0…\r\n<trailers>\r\n\r\n`.
 */
export function decodeAwsChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new S3Error(400, 'IncompleteBody', 'The aws-chunked body is truncated.');
    const size = Number.parseInt(
      raw.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '',
      16,
    );
    if (!Number.isFinite(size) || size < 0) {
      throw new S3Error(400, 'InvalidRequest', 'The aws-chunked body is malformed.');
    }
    offset = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    parts.push(raw.subarray(offset, offset + size));
    offset += size + 2;
  }
}

/** Reads a request body: decoded from aws-chunked, bounded, checked against Content-MD5. */
export async function readObjectBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_OBJECT_BYTES + 65_536) {
      throw new S3Error(
        400,
        'EntityTooLarge',
        'Your proposed upload exceeds the maximum allowed size',
      );
    }
    chunks.push(chunk as Buffer);
  }
  let body: Buffer = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? '');
  if (encoding.split(',').some((e) => e.trim() === 'aws-chunked')) body = decodeAwsChunked(body);
  if (body.length > MAX_OBJECT_BYTES) {
    throw new S3Error(
      400,
      'EntityTooLarge',
      'Your proposed upload exceeds the maximum allowed size',
    );
  }
  const md5 = req.headers['content-md5'];
  if (typeof md5 === 'string' && createHash('md5').update(body).digest('base64') !== md5) {
    throw new S3Error(
      400,
      'BadDigest',
      'The Content-MD5 you specified did not match what we received.',
    );
  }
  return body;
}
