import type { ServerResponse } from 'node:http';

// S3 speaks REST with XML bodies. Errors are `<Error><Code>…</Code><Message>…</Message>…
// <RequestId>…</RequestId></Error>` with the HTTP status the API reference lists per code;
// HEAD responses carry no body, so a client sees only the status there.

/** The S3 XML namespace. */
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** An S3 error: HTTP status, `Code`, `Message` and any extra elements (`Key`, `BucketName`). */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

/** Escapes text for an XML element. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** `<name>text</name>`, escaped. */
export function element(name: string, text: string | number | boolean): string {
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}

/** An XML document with the declaration. */
export function document(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

/** Writes an error response; without a body for HEAD. */
export function sendError(
  res: ServerResponse,
  error: S3Error,
  requestId: string,
  method: string,
): void {
  const headers: Record<string, string | number> = {
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId,
    ...error.headers,
  };
  if (method === 'HEAD' || error.status === 304) {
    res.writeHead(error.status, headers);
    res.end();
    return;
  }
  const body = document(
    `<Error>${element('Code', error.code)}${element('Message', error.message)}${Object.entries(
      error.extra,
    )
      .map(([name, text]) => element(name, text))
      .join('')}${element('RequestId', requestId)}${element('HostId', requestId)}</Error>`,
  );
  res.writeHead(error.status, {
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Writes an XML response. */
export function sendXml(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string>,
): void {
  const data = document(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}

/** `NoSuchBucket` (404). */
export function noSuchBucket(bucket: string): S3Error {
  return new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', {
    BucketName: bucket,
  });
}

/** `NoSuchKey` (404). */
export function noSuchKey(key: string, headers: Record<string, string> = {}): S3Error {
  return new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }, headers);
}

/** `PreconditionFailed` (412), naming the condition that did not hold. */
export function preconditionFailed(condition: string): S3Error {
  return new S3Error(
    412,
    'PreconditionFailed',
    'At least one of the pre-conditions you specified did not hold',
    { Condition: condition },
  );
}

/** `NotImplemented` (501): a header or sub-resource the twin does not implement. */
export function notImplemented(what: string): S3Error {
  return new S3Error(
    501,
    'NotImplemented',
    `A header or query you provided implies functionality that is not implemented: ${what} (docs/local-twin.md, "Differences from AWS").`,
  );
}
