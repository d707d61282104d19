import { randomBytes, randomUUID } from 'node:crypto';
import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import {
  AWS_DEFAULT_PASSWORD_POLICY,
  generateLocalPassword,
} from '../../shared/secrets/passwords.js';

interface Version {
  value: string | undefined;
  stages: Set<string>;
}

const meta = { $metadata: {} };

/**
 * A small in-memory Secrets Manager behind `aws-sdk-client-mock`, with the label semantics
 * the protocol relies on (one AWSCURRENT, AWSPREVIOUS following it, AWSPENDING placeholders
 * without a value, ClientRequestToken idempotency). For unit tests of the engine and
 * strategies; integration tests use the local twin over HTTP instead.
 */
export class InMemorySecretsManager {
  readonly client = new SecretsManagerClient({ region: 'us-east-1' });
  readonly mock: AwsClientStub<SecretsManagerClient>;
  readonly arn: string;
  readonly versions = new Map<string, Version>();
  rotationEnabled: boolean | undefined = true;
  /** The secret's tags, returned by DescribeSecret (sync targets are declared there). */
  readonly tags = new Map<string, string>();
  /** RotationToken values PutSecretValue received, in order. */
  readonly rotationTokens: (string | undefined)[] = [];

  constructor(name = `test/${randomUUID()}`) {
    this.arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-${randomBytes(3).toString('hex')}`;
    this.mock = mockClient(this.client);
    this.install();
  }

  /** Re-installs the fake behaviour (after `mock.reset()` in a test). */
  install(): void {
    this.mock.on(DescribeSecretCommand).callsFake((input) => {
      this.#failIfInjected('DescribeSecret');
      const neighbour = this.#neighbours.find((other) => other.#holds(input.SecretId));
      if (neighbour) return neighbour.#describe();
      this.#requireSecret(input.SecretId);
      return this.#describe();
    });
    this.mock.on(GetSecretValueCommand).callsFake((input) => {
      this.#failIfInjected('GetSecretValue');
      this.#requireSecret(input.SecretId);
      let id = input.VersionId;
      if (id === undefined) id = this.versionWith(input.VersionStage ?? 'AWSCURRENT');
      const version = id === undefined ? undefined : this.versions.get(id);
      if (!version || version.value === undefined) {
        throw new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret value",
          ...meta,
        });
      }
      if (input.VersionStage && !version.stages.has(input.VersionStage)) {
        throw new ResourceNotFoundException({ message: 'version and stage do not match', ...meta });
      }
      return {
        ...meta,
        ARN: this.arn,
        VersionId: id,
        SecretString: version.value,
        VersionStages: [...version.stages],
      };
    });
    // AWSCURRENT values by id; ids of other secrets are listed in Errors, as the service does.
    this.mock.on(BatchGetSecretValueCommand).callsFake((input) => {
      this.#failIfInjected('BatchGetSecretValue');
      const ids = input.SecretIdList ?? [];
      const current = this.versionWith('AWSCURRENT');
      const value = current === undefined ? undefined : this.versions.get(current)?.value;
      const own = (id: string) => id === this.arn || id === this.arn.split(':').pop();
      return {
        ...meta,
        SecretValues: ids
          .filter((id: string) => own(id) && value !== undefined)
          .map(() => ({
            ARN: this.arn,
            Name: this.arn.split(':').pop(),
            VersionId: current,
            SecretString: value,
            VersionStages: [...(this.versions.get(current as string)?.stages ?? [])],
          })),
        Errors: ids
          .filter((id: string) => !own(id) || value === undefined)
          .map((id: string) => ({
            SecretId: id,
            ErrorCode: 'ResourceNotFoundException',
            Message: "Secrets Manager can't find the specified secret.",
          })),
      };
    });
    this.mock.on(PutSecretValueCommand).callsFake((input) => {
      this.#failIfInjected('PutSecretValue');
      this.#requireSecret(input.SecretId);
      this.rotationTokens.push(input.RotationToken);
      const token = input.ClientRequestToken ?? randomUUID();
      const existing = this.versions.get(token);
      if (existing && existing.value !== undefined) {
        if (existing.value === input.SecretString)
          return { ...meta, ARN: this.arn, VersionId: token };
        throw new ResourceExistsException({
          message: `You can't use ClientRequestToken ${token}`,
          ...meta,
        });
      }
      const stages = input.VersionStages ?? ['AWSCURRENT'];
      if (!existing) this.versions.set(token, { value: input.SecretString, stages: new Set() });
      else existing.value = input.SecretString;
      for (const stage of stages) this.#moveStage(stage, token);
      return { ...meta, ARN: this.arn, VersionId: token, VersionStages: stages };
    });
    this.mock.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      this.#failIfInjected('UpdateSecretVersionStage');
      this.#requireSecret(input.SecretId);
      const stage = input.VersionStage ?? '';
      const holder = this.versionWith(stage);
      if (holder && holder !== input.MoveToVersionId && holder !== input.RemoveFromVersionId) {
        throw new InvalidParameterException({
          message: "The parameter RemoveFromVersionId can't be empty",
          ...meta,
        });
      }
      if (input.MoveToVersionId) this.#moveStage(stage, input.MoveToVersionId);
      else if (input.RemoveFromVersionId)
        this.versions.get(input.RemoveFromVersionId)?.stages.delete(stage);
      return { ...meta, ARN: this.arn };
    });
    this.mock.on(GetRandomPasswordCommand).callsFake((input) => ({
      ...meta,
      RandomPassword: generateLocalPassword({
        ...AWS_DEFAULT_PASSWORD_POLICY,
        length: input.PasswordLength ?? 32,
        excludeCharacters: input.ExcludeCharacters ?? '',
      }),
    }));
  }

  readonly #failures: { command: string; error: Error; remaining: number }[] = [];

  /** Makes the next `times` calls of `command` (e.g. 'PutSecretValue') throw `error`. */
  injectFailure(command: string, error: Error, times = 1): void {
    this.#failures.push({ command, error, remaining: times });
  }

  #failIfInjected(command: string): void {
    const failure = this.#failures.find((f) => f.command === command && f.remaining > 0);
    if (!failure) return;
    failure.remaining -= 1;
    throw failure.error;
  }

  readonly #neighbours: InMemorySecretsManager[] = [];

  /**
   * Puts `other`'s secret in the same account: DescribeSecret through this client answers
   * for it too (as for an admin secret named by `masterarn`), counted as this client's call.
   */
  shareAccountWith(other: InMemorySecretsManager): void {
    this.#neighbours.push(other);
  }

  #describe() {
    const versionIdsToStages: Record<string, string[]> = {};
    for (const [id, v] of this.versions)
      if (v.stages.size > 0) versionIdsToStages[id] = [...v.stages];
    return {
      ...meta,
      ARN: this.arn,
      Name: this.arn.split(':').pop(),
      ...(this.rotationEnabled === undefined ? {} : { RotationEnabled: this.rotationEnabled }),
      VersionIdsToStages: versionIdsToStages,
      ...(this.tags.size > 0
        ? { Tags: [...this.tags].map(([Key, Value]) => ({ Key, Value })) }
        : {}),
    };
  }

  #holds(secretId: string | undefined): boolean {
    const name = this.arn.split(':').pop() ?? '';
    return secretId === this.arn || secretId === name || name.startsWith(`${secretId}-`);
  }

  #requireSecret(secretId: string | undefined): void {
    if (!this.#holds(secretId)) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        ...meta,
      });
    }
  }

  #moveStage(stage: string, to: string): void {
    const from = this.versionWith(stage);
    if (from !== undefined && from !== to) this.versions.get(from)?.stages.delete(stage);
    this.versions.get(to)?.stages.add(stage);
    if (stage === 'AWSCURRENT' && from !== undefined && from !== to) {
      this.#moveStage('AWSPREVIOUS', from);
    }
  }

  /** The version id holding `stage`, if any. */
  versionWith(stage: string): string | undefined {
    for (const [id, v] of this.versions) if (v.stages.has(stage)) return id;
    return undefined;
  }

  /** The value of the version holding `stage`. */
  valueOf(stage: string): string | undefined {
    const id = this.versionWith(stage);
    return id === undefined ? undefined : this.versions.get(id)?.value;
  }

  /** Seeds the first AWSCURRENT version. */
  seedCurrent(value: string, versionId: string = randomUUID()): string {
    this.versions.set(versionId, { value, stages: new Set(['AWSCURRENT']) });
    return versionId;
  }

  /** What RotateSecret does before calling the function: an AWSPENDING placeholder, no value. */
  startRotation(token: string = randomUUID(), value?: string): string {
    this.#moveStagePlaceholder(token, value);
    return token;
  }

  /** What finishSecret does: moves AWSCURRENT to `token` (AWSPREVIOUS follows). */
  async finishRotation(token: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.arn,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        RemoveFromVersionId: this.versionWith('AWSCURRENT'),
      }),
    );
  }

  #moveStagePlaceholder(token: string, value: string | undefined): void {
    if (!this.versions.has(token)) this.versions.set(token, { value, stages: new Set() });
    this.#moveStage('AWSPENDING', token);
  }

  /** Number of calls made to the client so far, per command name. */
  callCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.mock.calls()) {
      const name = (call.args[0] as { constructor: { name: string } }).constructor.name.replace(
        /Command$/,
        '',
      );
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }
}

/** A rotation event as Secrets Manager sends it, with a fresh RotationToken. */
export function rotationEvent(
  step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret',
  secretId: string,
  token: string,
  rotationToken: string = `${randomUUID()}-${randomBytes(4).toString('hex')}`,
) {
  return {
    Step: step,
    SecretId: secretId,
    ClientRequestToken: token,
    RotationToken: rotationToken,
  };
}

/** A Lambda-like context, enough for middy and Powertools. */
export function lambdaContext(timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName: 'rotator-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotator-test',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/rotator-test',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
