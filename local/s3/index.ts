import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServicePersistence, type ServiceStorage } from '../common/persistedService.js';
import type { LocalKms } from '../kms/index.js';
import type { LocalLogger } from '../secrets-manager/rotation.js';
import { readObjectBody } from './body.js';
import {
  addVersion,
  type BucketRecord,
  BucketTable,
  currentVersion,
  deleteObject,
  type ObjectVersion,
  readableVersion,
} from './buckets.js';
import {
  checkReadConditions,
  checkWriteConditions,
  encryptionHeaders,
  openBody,
  sealBody,
} from './objects.js';
import { element, notImplemented, S3_NAMESPACE, S3Error, sendError, sendXml } from './xml.js';

export type { BucketRecord, ObjectVersion } from './buckets.js';

/** Options of {@link LocalS3}. */
export interface LocalS3Options extends ServiceStorage {
  /** Region of a bucket created without a LocationConstraint by an unsigned request. */
  defaultRegion: string;
  now: () => number;
  /** SSE-KMS encrypts and decrypts through it. */
  kms: LocalKms;
  /** The Region a request is signed for. */
  regionOf: (req: IncomingMessage) => string | undefined;
}

/** Query parameters that select an operation or modify one the twin implements. */
const BUCKET_QUERY = new Set([
  'x-id',
  'versioning',
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'encoding-type',
]);
const OBJECT_QUERY = new Set(['x-id', 'versionId']);

/** GetObject's `response-*` query parameters, which set the response's headers. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

function responseOverrides(query: URLSearchParams): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(name);
    if (value !== null) headers[header] = value;
  }
  return headers;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The twin's S3, path-style (`http://host:port/<bucket>/<key>`): buckets, versioning,
 * objects with ETags, conditional reads and writes, and SSE-KMS through the twin's KMS.
 * Errors are S3's XML bodies.
 */
export class LocalS3 {
  readonly buckets = new BucketTable();
  readonly #storage: ServicePersistence<{ buckets: BucketRecord[] }>;
  readonly #options: LocalS3Options;

  constructor(options: LocalS3Options) {
    this.#options = options;
    this.#storage = new ServicePersistence('s3', options);
    const stored = this.#storage.load();
    if (stored) this.buckets.restore(stored.buckets);
  }

  /** Makes the buckets durable (awaited before a write is acknowledged). */
  persist(): Promise<void> {
    return this.#storage.save({ snapshot: () => ({ buckets: this.buckets.all() }) });
  }

  /** Waits for pending writes. */
  close(): Promise<void> {
    return this.#storage.close();
  }

  /** The HTTP handler: S3 REST requests (no `X-Amz-Target`). */
  handler(log?: LocalLogger) {
    return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
      const started = Date.now();
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', 'http://localhost');
      const [, bucketName = '', ...rest] = url.pathname.split('/');
      let key = '';
      let bucket = '';
      let status = 200;
      let errorCode: string | undefined;
      try {
        try {
          key = decodeURIComponent(rest.join('/'));
          bucket = decodeURIComponent(bucketName);
        } catch {
          throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
        }
        status = await this.#route(req, res, method, url, bucket, key, requestId);
      } catch (error) {
        const failure =
          error instanceof S3Error
            ? error
            : new S3Error(
                500,
                'InternalError',
                'We encountered an internal error. Please try again.',
              );
        if (!(error instanceof S3Error)) {
          log?.({
            level: 'error',
            msg: 'unexpected error',
            service: 's3',
            error: (error as Error)?.name,
          });
        }
        status = failure.status;
        errorCode = failure.code;
        sendError(res, failure, requestId, method);
      }
      log?.({
        level: 'info',
        msg: 'request',
        service: 's3',
        method,
        bucket,
        key: key || undefined,
        status,
        ...(errorCode ? { errorCode } : {}),
        ms: Date.now() - started,
      });
    };
  }

  async #route(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
    bucket: string,
    key: string,
    requestId: string,
  ): Promise<number> {
    const base = { 'x-amz-request-id': requestId, 'x-amz-id-2': requestId };
    if (bucket === '') {
      if (method !== 'GET') throw notImplemented(`${method} /`);
      return this.#listBuckets(res, base);
    }
    const allowed = key === '' ? BUCKET_QUERY : OBJECT_QUERY;
    for (const name of url.searchParams.keys()) {
      if (!allowed.has(name) && !(key !== '' && name in RESPONSE_OVERRIDES)) {
        throw notImplemented(`?${name}`);
      }
    }
    if (req.headers['x-amz-copy-source'] !== undefined) throw notImplemented('x-amz-copy-source');
    if (req.headers.range !== undefined && method === 'GET') throw notImplemented('Range');
    if (key === '') return this.#bucketOperation(req, res, method, url, bucket, base);
    const record = this.buckets.get(bucket);
    const versionId = url.searchParams.get('versionId') ?? undefined;
    switch (method) {
      case 'PUT':
        return this.#putObject(req, res, record, key, base);
      case 'GET':
      case 'HEAD':
        return this.#getObject(req, res, method, record, key, versionId, url.searchParams, base);
      case 'DELETE': {
        const headers = deleteObject(record, key, versionId, this.#options.now());
        await this.persist();
        res.writeHead(204, { ...base, ...headers });
        res.end();
        return 204;
      }
      default:
        throw notImplemented(`${method} on an object`);
    }
  }

  async #bucketOperation(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
    name: string,
    base: Record<string, string>,
  ): Promise<number> {
    const query = url.searchParams;
    if (method === 'PUT' && query.has('versioning')) {
      const body = (await readObjectBody(req)).toString('utf8');
      const status = /<Status>\s*(Enabled|Suspended)\s*<\/Status>/.exec(body)?.[1];
      if (!status) {
        throw new S3Error(
          400,
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
        );
      }
      this.buckets.get(name).versioning = status as 'Enabled' | 'Suspended';
      await this.persist();
      res.writeHead(200, { ...base, 'Content-Length': 0 });
      res.end();
      return 200;
    }
    if (method === 'GET' && query.has('versioning')) {
      const bucket = this.buckets.get(name);
      sendXml(
        res,
        200,
        `<VersioningConfiguration xmlns="${S3_NAMESPACE}">${bucket.versioning ? element('Status', bucket.versioning) : ''}</VersioningConfiguration>`,
        base,
      );
      return 200;
    }
    if (method === 'PUT') {
      const body = (await readObjectBody(req)).toString('utf8');
      const constraint = /<LocationConstraint>\s*([^<\s]+)\s*<\/LocationConstraint>/.exec(
        body,
      )?.[1];
      const region = constraint ?? this.#options.regionOf(req) ?? this.#options.defaultRegion;
      this.buckets.create(name, region, this.#options.now());
      await this.persist();
      res.writeHead(200, { ...base, Location: `/${name}`, 'Content-Length': 0 });
      res.end();
      return 200;
    }
    if (method === 'HEAD') {
      const bucket = this.buckets.get(name);
      res.writeHead(200, { ...base, 'x-amz-bucket-region': bucket.region });
      res.end();
      return 200;
    }
    if (method === 'DELETE') {
      this.buckets.delete(name);
      await this.persist();
      res.writeHead(204, base);
      res.end();
      return 204;
    }
    if (method === 'GET' && query.get('list-type') === '2') {
      return this.#listObjectsV2(res, this.buckets.get(name), query, base);
    }
    throw notImplemented(`${method} /${name}${url.search}`);
  }

  async #putObject(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: BucketRecord,
    key: string,
    base: Record<string, string>,
  ): Promise<number> {
    const body = await readObjectBody(req);
    const sealed = await sealBody(
      this.#options.kms,
      bucket.region,
      bucket.name,
      key,
      req.headers,
      body,
    );
    // Checked after every await, so the check and the write are one step: no other request
    // can slip between them (S3 would answer 409 ConditionalRequestConflict there).
    checkWriteConditions(req.headers, key, currentVersion(bucket, key));
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name] = value;
    }
    const version = addVersion(bucket, key, {
      deleteMarker: false,
      body: sealed.stored.toString('base64'),
      size: body.length,
      etag: sealed.etag,
      contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
      metadata,
      lastModified: this.#options.now(),
      encryption: sealed.encryption,
    });
    await this.persist();
    const context = req.headers['x-amz-server-side-encryption-context'];
    res.writeHead(200, {
      ...base,
      ETag: version.etag,
      ...(bucket.versioning ? { 'x-amz-version-id': version.versionId } : {}),
      ...encryptionHeaders(version.encryption),
      ...(typeof context === 'string' ? { 'x-amz-server-side-encryption-context': context } : {}),
      'Content-Length': 0,
    });
    res.end();
    return 200;
  }

  #getObject(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    bucket: BucketRecord,
    key: string,
    versionId: string | undefined,
    query: URLSearchParams,
    base: Record<string, string>,
  ): number {
    const version: ObjectVersion = readableVersion(bucket, key, versionId);
    checkReadConditions(req.headers, version);
    const body = method === 'GET' ? openBody(this.#options.kms, bucket.region, version) : undefined;
    res.writeHead(200, {
      ...base,
      'Content-Type': version.contentType,
      'Content-Length': version.size,
      ETag: version.etag,
      'Last-Modified': new Date(version.lastModified).toUTCString(),
      'Accept-Ranges': 'bytes',
      ...(bucket.versioning || version.versionId !== 'null'
        ? { 'x-amz-version-id': version.versionId }
        : {}),
      ...encryptionHeaders(version.encryption),
      ...version.metadata,
      ...responseOverrides(query),
    });
    res.end(body);
    return 200;
  }

  #listBuckets(res: ServerResponse, base: Record<string, string>): number {
    const buckets = this.buckets
      .all()
      .map(
        (b) =>
          `<Bucket>${element('Name', b.name)}${element('CreationDate', iso(b.createdAt))}${element('BucketRegion', b.region)}</Bucket>`,
      )
      .join('');
    sendXml(
      res,
      200,
      `<ListAllMyBucketsResult xmlns="${S3_NAMESPACE}"><Owner>${element('ID', 'local')}</Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
      base,
    );
    return 200;
  }

  #listObjectsV2(
    res: ServerResponse,
    bucket: BucketRecord,
    query: URLSearchParams,
    base: Record<string, string>,
  ): number {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const requested = Number(query.get('max-keys') ?? 1000);
    if (!Number.isInteger(requested) || requested < 0) {
      throw new S3Error(
        400,
        'InvalidArgument',
        'Provided max-keys not an integer or within integer range',
        {
          ArgumentName: 'max-keys',
        },
      );
    }
    const maxKeys = Math.min(requested, 1000);
    const token = query.get('continuation-token');
    let after = query.get('start-after') ?? '';
    if (token !== null) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (after === '')
        throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
    }
    const entries: { key: string; version?: ObjectVersion; commonPrefix?: string }[] = [];
    const seenPrefixes = new Set<string>();
    for (const key of Object.keys(bucket.objects).sort()) {
      const current = currentVersion(bucket, key);
      if (!current || current.deleteMarker || !key.startsWith(prefix)) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const common = key.slice(0, cut + delimiter.length);
        if (common <= after || seenPrefixes.has(common)) continue;
        seenPrefixes.add(common);
        entries.push({ key: common, commonPrefix: common });
      } else if (key > after) entries.push({ key, version: current });
    }
    const page = entries.slice(0, maxKeys);
    const truncated = entries.length > page.length;
    const contents = page
      .map((entry) =>
        entry.commonPrefix !== undefined
          ? `<CommonPrefixes>${element('Prefix', entry.commonPrefix)}</CommonPrefixes>`
          : `<Contents>${element('Key', entry.key)}${element('LastModified', iso(entry.version?.lastModified ?? 0))}${element('ETag', entry.version?.etag ?? '')}${element('Size', entry.version?.size ?? 0)}${element('StorageClass', 'STANDARD')}</Contents>`,
      )
      .join('');
    const last = page.at(-1)?.key;
    sendXml(
      res,
      200,
      `<ListBucketResult xmlns="${S3_NAMESPACE}">${element('Name', bucket.name)}${element('Prefix', prefix)}${delimiter ? element('Delimiter', delimiter) : ''}${element('MaxKeys', maxKeys)}${element('KeyCount', page.length)}${element('IsTruncated', truncated)}${token !== null ? element('ContinuationToken', token) : ''}${truncated && last ? element('NextContinuationToken', Buffer.from(last, 'utf8').toString('base64url')) : ''}${contents}</ListBucketResult>`,
      base,
    );
    return 200;
  }
}
