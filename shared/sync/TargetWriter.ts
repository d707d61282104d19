import type { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { envelopeContext, openEnvelope, parseEnvelope, sealEnvelope } from './envelope.js';
import { SyncWriteError } from './errors.js';
import { envValueOf, jsonFieldOf, withEnvValue, withJsonField } from './formats.js';
import type { ObjectTarget, ParameterTarget, SyncTarget } from './targets.js';

export { SyncWriteError };

/** The clients sync needs, each built on first use (a secret without targets builds none). */
export interface SyncClients {
  ssm(): SSMClient;
  s3(): S3Client;
  kms(): KMSClient;
}

/** What {@link TargetWriter.write} did, or what {@link TargetWriter.check} found. */
export type TargetState = 'in-step' | 'stale' | 'missing';

/** Conditional writes retried after a concurrent edit (412) before giving up. */
const MAX_CONDITIONAL_ATTEMPTS = 5;

interface ObjectRead {
  text: string | undefined;
  etag: string | undefined;
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string })?.name;
}

function isConditionFailure(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return (
    status === 412 ||
    status === 409 ||
    errorName(error) === 'PreconditionFailed' ||
    errorName(error) === 'ConditionalRequestConflict'
  );
}

/**
 * Reads and writes sync targets. Every write is idempotent: a target that already holds the
 * value is left alone (so a retried finishSecret adds no Parameter Store version and no S3
 * object version), and an S3 write replaces only its field, conditional on the ETag it read
 * (`If-Match`, or `If-None-Match: *` for a new object), re-reading after a concurrent edit.
 */
export class TargetWriter {
  readonly #clients: SyncClients;

  constructor(clients: SyncClients) {
    this.#clients = clients;
  }

  /** Whether `target` holds `value` (`in-step`), another value (`stale`) or nothing (`missing`). */
  async check(target: SyncTarget, value: string, signal?: AbortSignal): Promise<TargetState> {
    if (target.type === 'ssm') {
      const held = await this.#readParameter(target, signal);
      return held === undefined ? 'missing' : held === value ? 'in-step' : 'stale';
    }
    const read = await this.#readObject(target, signal);
    if (read.text === undefined) return 'missing';
    const held = await this.#heldInObject(target, read.text, signal);
    return held === undefined ? 'missing' : held === value ? 'in-step' : 'stale';
  }

  /** Makes `target` hold `value`; returns the state it found (`in-step`: nothing written). */
  async write(target: SyncTarget, value: string, signal?: AbortSignal): Promise<TargetState> {
    return target.type === 'ssm'
      ? this.#writeParameter(target, value, signal)
      : this.#writeObject(target, value, signal);
  }

  async #readParameter(target: ParameterTarget, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const out = await this.#clients
        .ssm()
        .send(new GetParameterCommand({ Name: target.name, WithDecryption: true }), {
          abortSignal: signal,
        });
      return out.Parameter?.Value;
    } catch (error) {
      if (errorName(error) === 'ParameterNotFound') return undefined;
      throw new SyncWriteError(target, 'GetParameter', { cause: error });
    }
  }

  async #writeParameter(
    target: ParameterTarget,
    value: string,
    signal?: AbortSignal,
  ): Promise<TargetState> {
    const held = await this.#readParameter(target, signal);
    if (held === value) return 'in-step';
    try {
      // Overwrite makes a new version; Parameter Store keeps the earlier ones by number.
      await this.#clients.ssm().send(
        new PutParameterCommand({
          Name: target.name,
          Value: value,
          Type: 'SecureString',
          Overwrite: true,
          ...(target.kmsKeyId ? { KeyId: target.kmsKeyId } : {}),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw new SyncWriteError(target, 'PutParameter', { cause: error });
    }
    return held === undefined ? 'missing' : 'stale';
  }

  async #readObject(target: ObjectTarget, signal?: AbortSignal): Promise<ObjectRead> {
    try {
      const out = await this.#clients
        .s3()
        .send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }), {
          abortSignal: signal,
        });
      return { text: await out.Body?.transformToString('utf8'), etag: out.ETag };
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') return { text: undefined, etag: undefined };
      throw new SyncWriteError(target, 'GetObject', { cause: error });
    }
  }

  async #heldInObject(
    target: ObjectTarget,
    text: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    try {
      if (target.format === 'json') return jsonFieldOf(text, target.pointer as string);
      if (target.format === 'env') return envValueOf(text, target.variable as string);
      const context = envelopeContext(target.bucket, target.key);
      return await openEnvelope(this.#clients.kms(), parseEnvelope(text), context, signal);
    } catch (error) {
      throw new SyncWriteError(target, `reading the ${target.format} object`, { cause: error });
    }
  }

  async #newBody(
    target: ObjectTarget,
    text: string | undefined,
    value: string,
    signal?: AbortSignal,
  ) {
    try {
      if (target.format === 'json') return withJsonField(text, target.pointer as string, value);
      if (target.format === 'env') return withEnvValue(text, target.variable as string, value);
      const context = envelopeContext(target.bucket, target.key);
      const envelope = await sealEnvelope(
        this.#clients.kms(),
        target.kmsKeyId,
        context,
        value,
        signal,
      );
      return `${JSON.stringify(envelope, null, 2)}\n`;
    } catch (error) {
      throw new SyncWriteError(target, `building the ${target.format} object`, { cause: error });
    }
  }

  async #writeObject(
    target: ObjectTarget,
    value: string,
    signal?: AbortSignal,
  ): Promise<TargetState> {
    let found: TargetState | undefined;
    for (let attempt = 1; ; attempt++) {
      const read = await this.#readObject(target, signal);
      const held =
        read.text === undefined ? undefined : await this.#heldInObject(target, read.text, signal);
      found ??= held === undefined ? 'missing' : held === value ? 'in-step' : 'stale';
      if (held === value) return found;
      const body = await this.#newBody(target, read.text, value, signal);
      try {
        await this.#clients.s3().send(
          new PutObjectCommand({
            Bucket: target.bucket,
            Key: target.key,
            Body: body,
            ContentType: target.format === 'env' ? 'text/plain; charset=utf-8' : 'application/json',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: target.kmsKeyId,
            ...(read.etag !== undefined ? { IfMatch: read.etag } : { IfNoneMatch: '*' }),
          }),
          { abortSignal: signal },
        );
        return found;
      } catch (error) {
        // Someone changed the object since we read it: read their version and replace our
        // field in it, so their edit of other fields stays.
        if (isConditionFailure(error) && attempt < MAX_CONDITIONAL_ATTEMPTS) continue;
        throw new SyncWriteError(
          target,
          isConditionFailure(error)
            ? `PutObject (changed concurrently ${attempt} times)`
            : 'PutObject',
          { cause: error },
        );
      }
    }
  }
}
