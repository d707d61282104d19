import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { localAwsClients } from '../helpers/localAws.js';
import {
  randomValue,
  useLocalSecretsManager,
  useTempDirs,
} from '../helpers/localSecretsManager.js';

const tempDir = useTempDirs('rotator-s3-');
const start = useLocalSecretsManager();
const bucketName = () => `test-${randomBytes(6).toString('hex')}`;

async function newBucket(s3: S3Client, versioned = false): Promise<string> {
  const Bucket = bucketName();
  await s3.send(new CreateBucketCommand({ Bucket }));
  if (versioned) {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  }
  return Bucket;
}

async function read(s3: S3Client, input: { Bucket: string; Key: string; VersionId?: string }) {
  const got = await s3.send(new GetObjectCommand(input));
  return { ...got, text: await got.Body?.transformToString() };
}

/** The rejection of `promise`, to assert on its name and HTTP status. */
async function failure(promise: Promise<unknown>): Promise<S3ServiceException> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(S3ServiceException);
  return error as S3ServiceException;
}

describe('local S3 through the AWS SDK v3, path-style (same endpoint as Secrets Manager)', () => {
  it('PutObject then GetObject and HeadObject: body, ETag (quoted MD5), content type, user metadata', async () => {
    // Prepare
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const body = JSON.stringify({ password: randomValue(), host: 'db' });
    // Act
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'config/app.json',
        Body: body,
        ContentType: 'application/json',
        Metadata: { owner: 'rotator' },
      }),
    );
    const got = await read(s3, { Bucket, Key: 'config/app.json' });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'config/app.json' }));
    // Assess
    const md5 = `"${createHash('md5').update(body).digest('hex')}"`;
    expect(put.ETag).toBe(md5);
    expect(put.VersionId).toBeUndefined();
    expect(got.text).toBe(body);
    expect(got).toMatchObject({
      ETag: md5,
      ContentType: 'application/json',
      Metadata: { owner: 'rotator' },
    });
    expect(got.ServerSideEncryption).toBe('AES256');
    expect(head).toMatchObject({ ETag: md5, ContentLength: Buffer.byteLength(body) });
    expect(head.LastModified).toBeInstanceOf(Date);
    const overridden = await s3.send(
      new GetObjectCommand({ Bucket, Key: 'config/app.json', ResponseContentType: 'text/plain' }),
    );
    expect(overridden.ContentType).toBe('text/plain');
  });

  it('accepts a streamed body (the SDK sends it aws-chunked with a trailing checksum)', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const parts = [randomValue(3000), randomValue(5000)];
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'streamed',
        Body: Readable.from(parts.map((p) => Buffer.from(p))),
        ContentLength: Buffer.byteLength(parts.join('')),
      }),
    );
    const got = await read(s3, { Bucket, Key: 'streamed' });
    expect(got.text).toBe(parts.join(''));
    expect(put.ETag).toBe(`"${createHash('md5').update(parts.join('')).digest('hex')}"`);
  });

  it('answers NoSuchKey, NoSuchBucket, NotFound (HEAD), and BucketAlreadyOwnedByYou outside us-east-1', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    await expect(s3.send(new GetObjectCommand({ Bucket, Key: 'absent' }))).rejects.toBeInstanceOf(
      NoSuchKey,
    );
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucketName(), Key: 'x' })),
    ).rejects.toBeInstanceOf(NoSuchBucket);
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'absent' }))).rejects.toBeInstanceOf(
      NotFound,
    );
    // Re-creating is 200 in us-east-1 ("for legacy compatibility"), 409 everywhere else.
    await s3.send(new CreateBucketCommand({ Bucket }));
    const { s3: ireland } = localAwsClients(twin, 'eu-west-1');
    const irish = bucketName();
    await ireland.send(
      new CreateBucketCommand({
        Bucket: irish,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await expect(
      ireland.send(
        new CreateBucketCommand({
          Bucket: irish,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      ),
    ).rejects.toBeInstanceOf(BucketAlreadyOwnedByYou);
  });

  it('HeadBucket, ListBuckets, and DeleteBucket only once the bucket is empty (BucketNotEmpty, 409)', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    await s3.send(new HeadBucketCommand({ Bucket }));
    const listed = await s3.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toContain(Bucket);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'v' }));
    const notEmpty = await failure(s3.send(new DeleteBucketCommand({ Bucket })));
    expect(notEmpty).toMatchObject({ name: 'BucketNotEmpty', $metadata: { httpStatusCode: 409 } });
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    await s3.send(new DeleteBucketCommand({ Bucket }));
    await expect(s3.send(new HeadBucketCommand({ Bucket }))).rejects.toBeInstanceOf(NotFound);
  });

  it('versioning Suspended: a put replaces the null version and keeps the older versioned ones', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3, true);
    const Key = 'k';
    const kept = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'versioned' }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }),
    );
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'first null' }));
    const second = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'second null' }));
    expect(second.VersionId).toBe('null');
    expect((await read(s3, { Bucket, Key })).text).toBe('second null');
    expect((await read(s3, { Bucket, Key, VersionId: kept.VersionId as string })).text).toBe(
      'versioned',
    );
    expect(twin.s3.buckets.get(Bucket).objects[Key]?.map((v) => v.versionId)).toEqual([
      kept.VersionId,
      'null',
    ]);
  });

  it('answers 501 NotImplemented for a sub-resource or header the twin does not implement', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const response = await fetch(`${twin.url}/${Bucket}?policy`);
    expect(response.status).toBe(501);
    expect(await response.text()).toContain('<Code>NotImplemented</Code>');
  });

  it('returns S3 XML error bodies with Code, Message, Key and RequestId', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const response = await fetch(`${twin.url}/${Bucket}/missing/key.json`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/xml');
    const xml = await response.text();
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist.<\/Message><Key>missing\/key.json<\/Key><RequestId>[^<]+<\/RequestId>/,
    );
    const bad = await fetch(`${twin.url}/Bad_Bucket`, { method: 'PUT' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('<Code>InvalidBucketName</Code>');
  });

  it('conditional PutObject: If-None-Match * only creates, If-Match replaces only the ETag it names (412 otherwise, 404 without an object)', async () => {
    // Prepare
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const Key = 'app.env';
    // Act
    const created = await s3.send(
      new PutObjectCommand({ Bucket, Key, Body: 'A=1\n', IfNoneMatch: '*' }),
    );
    const createAgain = await failure(
      s3.send(new PutObjectCommand({ Bucket, Key, Body: 'A=2\n', IfNoneMatch: '*' })),
    );
    const replaced = await s3.send(
      new PutObjectCommand({ Bucket, Key, Body: 'A=3\n', IfMatch: created.ETag }),
    );
    const stale = await failure(
      s3.send(new PutObjectCommand({ Bucket, Key, Body: 'A=4\n', IfMatch: created.ETag })),
    );
    const absent = await failure(
      s3.send(new PutObjectCommand({ Bucket, Key: 'none', Body: 'x', IfMatch: created.ETag })),
    );
    // Assess
    expect(createAgain).toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    expect(replaced.ETag).not.toBe(created.ETag);
    expect(stale).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect(absent).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    expect((await read(s3, { Bucket, Key })).text).toBe('A=3\n');
  });

  it('conditional PutObject: of concurrent writers with the same If-Match exactly one succeeds, the others get 412', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const Key = 'shared.json';
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket, Key, Body: '{"v":0}' }));
    const bodies = Array.from({ length: 6 }, (_, i) => `{"v":${i + 1}}`);
    const outcomes = await Promise.allSettled(
      bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket, Key, Body, IfMatch: ETag }))),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [bodies[i]] : []));
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const o of lost) {
      expect((o as PromiseRejectedResult).reason).toMatchObject({
        $metadata: { httpStatusCode: 412 },
      });
    }
    expect((await read(s3, { Bucket, Key })).text).toBe(won[0]);
  });

  it('ListObjectsV2 refuses a max-keys that is not a non-negative integer', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const response = await fetch(`${twin.url}/${Bucket}?list-type=2&max-keys=many`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>InvalidArgument</Code>');
  });

  it('conditional GetObject: If-Match mismatch is 412, If-None-Match on the ETag and If-Modified-Since a later date are 304', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const Key = 'doc.json';
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket, Key, Body: '{}' }));
    const mismatch = await failure(
      s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: '"0000"' })),
    );
    const notModified = await failure(
      s3.send(new GetObjectCommand({ Bucket, Key, IfNoneMatch: ETag })),
    );
    const notSince = await failure(
      s3.send(
        new HeadObjectCommand({ Bucket, Key, IfModifiedSince: new Date(Date.now() + 60_000) }),
      ),
    );
    expect(mismatch.$metadata.httpStatusCode).toBe(412);
    expect(notModified.$metadata.httpStatusCode).toBe(304);
    expect(notSince.$metadata.httpStatusCode).toBe(304);
    const matched = await read(s3, { Bucket, Key, ...{ IfMatch: ETag } });
    expect(matched.text).toBe('{}');
  });

  it('versioning: each put gets a VersionId, older versions stay readable, a delete adds a delete marker', async () => {
    // Prepare
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3, true);
    const Key = 'secret.json';
    // Act
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two' }));
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    // Assess
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');
    expect(v1.VersionId).toBeTruthy();
    expect(v2.VersionId).not.toBe(v1.VersionId);
    expect(deleted.DeleteMarker).toBe(true);
    await expect(s3.send(new GetObjectCommand({ Bucket, Key }))).rejects.toBeInstanceOf(NoSuchKey);
    const old = await read(s3, { Bucket, Key, VersionId: v1.VersionId as string });
    expect(old).toMatchObject({ text: 'one', VersionId: v1.VersionId });
    await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: deleted.VersionId }));
    expect((await read(s3, { Bucket, Key })).text).toBe('two');
    const missing = await failure(
      s3.send(new GetObjectCommand({ Bucket, Key, VersionId: 'no-such-version' })),
    );
    expect(missing).toMatchObject({ name: 'NoSuchVersion', $metadata: { httpStatusCode: 404 } });
  });

  it('SSE-KMS: stores the object encrypted under the named key, echoes the headers on put, get and head', async () => {
    // Prepare
    const twin = await start();
    const { s3, kms } = localAwsClients(twin);
    const created = await kms.send(new CreateKeyCommand({}));
    const AliasName = `alias/s3-${randomBytes(4).toString('hex')}`;
    await kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: created.KeyMetadata?.KeyId }));
    const Bucket = await newBucket(s3);
    const secret = randomValue();
    // Act
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'enc.json',
        Body: JSON.stringify({ password: secret }),
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: AliasName,
      }),
    );
    const got = await read(s3, { Bucket, Key: 'enc.json' });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'enc.json' }));
    // Assess
    const expected = { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: created.KeyMetadata?.Arn };
    expect(put).toMatchObject(expected);
    expect(got).toMatchObject(expected);
    expect(head).toMatchObject(expected);
    expect(JSON.parse(got.text as string)).toEqual({ password: secret });
    const stored = twin.s3.buckets.get(Bucket).objects['enc.json']?.[0]?.body as string;
    expect(Buffer.from(stored, 'base64').toString('latin1')).not.toContain(secret);
  });

  it('SSE-KMS binds the encryption context of the request beside aws:s3:arn and echoes it on put', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const context = Buffer.from(JSON.stringify({ app: 'billing' })).toString('base64');
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'ctx',
        Body: 'v',
        ServerSideEncryption: 'aws:kms',
        SSEKMSEncryptionContext: context,
      }),
    );
    expect(put.SSEKMSEncryptionContext).toBe(context);
    expect(twin.s3.buckets.get(Bucket).objects.ctx?.[0]?.encryption?.context).toEqual({
      app: 'billing',
      'aws:s3:arn': `arn:aws:s3:::${Bucket}/ctx`,
    });
    expect((await read(s3, { Bucket, Key: 'ctx' })).text).toBe('v');
  });

  it('SSE-KMS without a key id uses alias/aws/s3; an unknown key id is refused', async () => {
    const twin = await start();
    const { s3, kms } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    const put = await s3.send(
      new PutObjectCommand({ Bucket, Key: 'k', Body: 'v', ServerSideEncryption: 'aws:kms' }),
    );
    const managed = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }));
    expect(put.SSEKMSKeyId).toBe(managed.KeyMetadata?.Arn);
    expect(managed.KeyMetadata?.KeyManager).toBe('AWS');
    const refused = await failure(
      s3.send(
        new PutObjectCommand({
          Bucket,
          Key: 'k2',
          Body: 'v',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'alias/nope',
        }),
      ),
    );
    expect(refused).toMatchObject({
      name: 'KMS.NotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('ListObjectsV2 lists keys under a prefix, groups by delimiter and pages with continuation tokens', async () => {
    const twin = await start();
    const { s3 } = localAwsClients(twin);
    const Bucket = await newBucket(s3);
    for (const Key of ['a/1', 'a/2', 'a/3', 'a/sub/4', 'b/5']) {
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    }
    const grouped = await s3.send(
      new ListObjectsV2Command({ Bucket, Prefix: 'a/', Delimiter: '/' }),
    );
    expect(grouped.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2', 'a/3']);
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/sub/']);
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket, MaxKeys: 2, ContinuationToken }),
      );
      keys.push(...(page.Contents ?? []).map((c) => c.Key as string));
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    expect(keys).toEqual(['a/1', 'a/2', 'a/3', 'a/sub/4', 'b/5']);
  });

  it('keeps buckets and objects across a restart, an SSE-KMS body never in clear in the state file', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const first = await start({ statePath, masterKey });
    const s3 = localAwsClients(first).s3;
    const Bucket = await newBucket(s3, true);
    const secret = randomValue();
    await s3.send(
      new PutObjectCommand({ Bucket, Key: 'k', Body: secret, ServerSideEncryption: 'aws:kms' }),
    );
    await first.close();
    expect(readFileSync(`${statePath}.s3`, 'utf8')).not.toContain(Bucket);
    const second = await start({ statePath, masterKey });
    const got = await read(localAwsClients(second).s3, { Bucket, Key: 'k' });
    expect(got.text).toBe(secret);
  });
});
