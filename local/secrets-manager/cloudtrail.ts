import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from './clock.js';
import type { Input } from './input.js';
import type { RotationState, SecretRecord } from './model.js';

/** Local, non-AWS endpoint: `GET /_local/cloudtrail` lists the recorded events. */
export const CLOUDTRAIL_PATH = '/_local/cloudtrail';

/**
 * One recorded event, in the shape EventBridge delivers CloudTrail entries: the envelope
 * (`detail-type`, `source`, `account`, `region`, `time`) around the CloudTrail record
 * (`detail`), so a rule's event pattern can be matched against it as EventBridge would.
 */
export interface TrailEvent {
  version: '0';
  id: string;
  'detail-type': 'AWS API Call via CloudTrail' | 'AWS Service Event via CloudTrail';
  source: 'aws.secretsmanager';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/**
 * Request members copied into `requestParameters`: names, ids, labels, rules and settings.
 * An allow-list, not a deny-list: a member the twin learns later (or a misspelt
 * `SecretString`) stays out of the trail until someone decides it is not a secret.
 */
const LOGGED_MEMBERS = new Set([
  'SecretId',
  'Name',
  'VersionId',
  'VersionStage',
  'VersionStages',
  'ClientRequestToken',
  'MoveToVersionId',
  'RemoveFromVersionId',
  'RotationLambdaARN',
  'RotationRules',
  'RotateImmediately',
  'KmsKeyId',
  'Description',
  'TagKeys',
  'Filters',
  'MaxResults',
  'IncludeDeprecated',
  'IncludePlannedDeletion',
  'SortOrder',
  'RecoveryWindowInDays',
  'ForceDeleteWithoutRecovery',
  'SecretIdList',
  'AddReplicaRegions',
  'RemoveReplicaRegions',
  'ForceOverwriteReplicaSecret',
  'BlockPublicPolicy',
]);

/** Operations that only read: CloudTrail's `readOnly`. */
const READ_ONLY = new Set([
  'GetSecretValue',
  'BatchGetSecretValue',
  'DescribeSecret',
  'ListSecrets',
  'ListSecretVersionIds',
  'GetResourcePolicy',
  'ValidateResourcePolicy',
  'GetRandomPassword',
]);

/** In-memory records kept for `GET /_local/cloudtrail`; the JSONL file keeps every one. */
const MEMORY_LIMIT = 10_000;

/** Options of {@link CloudTrail}. */
export interface CloudTrailOptions {
  accountId: string;
  clock: Clock;
  /** Append every event to this JSONL file (beside the state file). */
  file?: string;
}

/** An API call as the server saw it. */
export interface ApiCall {
  operation: string;
  region: string;
  input: Input;
  requestId: string;
  /** The secret's ARN when the call named one that exists. */
  arn?: string;
  /** The service error's code when the call failed. */
  errorCode?: string;
}

interface SeenRotation {
  attempt: string;
  state: RotationState;
}

/**
 * The twin's audit trail: a CloudTrail-shaped entry for every Secrets Manager API call and
 * for the rotation events the service logs (`RotationStarted`, `RotationSucceeded`,
 * `RotationFailed`, `RotationAbandoned` and their `TestRotation*` forms for
 * `RotateImmediately=false`). No secret value enters it: request members are allow-listed,
 * responses are not recorded, and a failure's message is the rotation record's, which the
 * twin has already scrubbed of every stored value.
 */
export class CloudTrail {
  readonly #options: CloudTrailOptions;
  readonly #events: TrailEvent[] = [];
  readonly #seen = new Map<string, SeenRotation>();
  /** The JSONL file's descriptor, once opened. */
  #fd: number | undefined;
  #fileFailed = false;

  constructor(options: CloudTrailOptions) {
    this.#options = options;
  }

  /**
   * Appends one line to the JSONL file, opened on the first event (the state file's folder
   * may not exist before the state is first saved). Written synchronously, so an event is in
   * the file before the call's response is sent and nothing is left in flight when the twin
   * stops. A file that cannot be written (folder removed, disk full) stops the file, never
   * the twin: the in-memory trail goes on.
   */
  #append(line: string): void {
    const path = this.#options.file;
    if (!path || this.#fileFailed) return;
    try {
      if (this.#fd === undefined) {
        mkdirSync(dirname(path), { recursive: true });
        this.#fd = openSync(path, 'a', 0o600);
      }
      writeSync(this.#fd, line);
    } catch {
      this.#fileFailed = true;
    }
  }

  /** Recorded events, oldest first (the most recent 10,000). */
  events(): TrailEvent[] {
    return [...this.#events];
  }

  /** Records an API call (`AWS API Call via CloudTrail`). */
  apiCall(call: ApiCall): void {
    const requestParameters: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(call.input)) {
      if (LOGGED_MEMBERS.has(key)) requestParameters[key] = value;
    }
    this.#record('AWS API Call via CloudTrail', call.region, call.arn, {
      eventType: 'AwsApiCall',
      eventName: call.operation,
      userIdentity: { type: 'IAMUser', accountId: this.#options.accountId },
      sourceIPAddress: '127.0.0.1',
      userAgent: 'local-twin',
      requestParameters,
      responseElements: call.arn && !call.errorCode ? { arn: call.arn } : null,
      requestID: call.requestId,
      readOnly: READ_ONLY.has(call.operation),
      ...(call.errorCode ? { errorCode: call.errorCode } : {}),
    });
  }

  /**
   * Records the rotation events a change of `secret`'s rotation record stands for, since
   * the last time this secret was observed: a new attempt started, then how it ended.
   */
  observe(secret: SecretRecord | undefined): void {
    const rotation = secret?.rotation;
    if (!secret || !rotation) return;
    // The secret's own Region: a replica's rotation events are its primary's.
    const region = secret.arn.split(':')[3] ?? '';
    const attempt = `${rotation.versionId}#${rotation.attempts}#${rotation.startedDate}`;
    const seen = this.#seen.get(secret.arn);
    if (seen?.attempt === attempt && seen.state === rotation.state) return;
    this.#seen.set(secret.arn, { attempt, state: rotation.state });
    const prefix = rotation.mode === 'test' ? 'TestRotation' : 'Rotation';
    if (seen?.attempt !== attempt) this.#serviceEvent(`${prefix}Started`, secret, region);
    if (rotation.state === 'Succeeded') this.#serviceEvent(`${prefix}Succeeded`, secret, region);
    if (rotation.state === 'Failed') {
      this.#serviceEvent(`${prefix}Failed`, secret, region, rotation.message);
    }
    if (rotation.state === 'Abandoned') this.#serviceEvent('RotationAbandoned', secret, region);
  }

  /** Closes the JSONL file. */
  async close(): Promise<void> {
    const fd = this.#fd;
    this.#fd = undefined;
    this.#fileFailed = true;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Already gone with its folder: nothing left to flush.
    }
  }

  #serviceEvent(name: string, secret: SecretRecord, region: string, message?: string): void {
    this.#record('AWS Service Event via CloudTrail', region, secret.arn, {
      eventType: 'AwsServiceEvent',
      eventName: name,
      userIdentity: {
        accountId: this.#options.accountId,
        invokedBy: 'secretsmanager.amazonaws.com',
      },
      sourceIPAddress: 'secretsmanager.amazonaws.com',
      userAgent: 'secretsmanager.amazonaws.com',
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: secret.arn },
      readOnly: false,
      ...(message ? { errorMessage: message } : {}),
    });
  }

  #record(
    detailType: TrailEvent['detail-type'],
    region: string,
    arn: string | undefined,
    fields: Record<string, unknown>,
  ): void {
    const time = new Date(this.#options.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event: TrailEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: 'aws.secretsmanager',
      account: this.#options.accountId,
      time,
      region,
      resources: [],
      detail: {
        eventVersion: '1.08',
        eventTime: time,
        eventSource: 'secretsmanager.amazonaws.com',
        awsRegion: region,
        eventID: randomUUID(),
        managementEvent: true,
        recipientAccountId: this.#options.accountId,
        eventCategory: 'Management',
        ...(arn && fields.eventType === 'AwsApiCall'
          ? {
              resources: [
                {
                  ARN: arn,
                  accountId: this.#options.accountId,
                  type: 'AWS::SecretsManager::Secret',
                },
              ],
            }
          : {}),
        ...fields,
      },
    };
    this.#events.push(event);
    if (this.#events.length > MEMORY_LIMIT)
      this.#events.splice(0, this.#events.length - MEMORY_LIMIT);
    this.#append(`${JSON.stringify(event)}\n`);
  }
}
