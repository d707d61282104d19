import { randomBytes } from 'node:crypto';
import type { RotationStep } from '../../shared/engine/types.js';
import type { Clock } from './clock.js';
import { invalidNextToken, invalidParameter, type ServiceException } from './errors.js';
import { type Input, optionalString, type Tag } from './input.js';
import type { RotationRules } from './schedule.js';

/** Staging labels with service-defined meaning (API `VersionIdsToStages`). */
export const AWSCURRENT = 'AWSCURRENT';
/** Label of the version being rotated in. */
export const AWSPENDING = 'AWSPENDING';
/** Label of the last known good version. */
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** One day in milliseconds. */
export const DAY = 86_400_000;
/** "Secrets Manager deletes deprecated versions once there are more than 100" (API PutSecretValue). */
export const MAX_VERSIONS = 100;
/** Staging labels per version (API `SecretVersionStagesType`). */
export const MAX_LABELS_PER_VERSION = 20;
/** Tags per secret. */
export const MAX_TAGS = 50;
const MAX_VALUE_LENGTH = 65_536;
/** Characters allowed in a secret name (API `NameType`). */
export const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]+$/;

/** A secret value. Binary values are kept base64-encoded, as they travel in JSON. */
export type SecretValue =
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'binary'; readonly base64: string };

/** One version of a secret. `value` is absent for RotateSecret's AWSPENDING placeholder. */
export interface VersionRecord {
  versionId: string;
  stages: string[];
  createdDate: number;
  lastAccessedDate?: number;
  value?: SecretValue;
}

/** Outcome of the latest rotation, shown to operators (local extension, not an AWS field). */
export type RotationState =
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'Cancelled'
  | 'Abandoned'
  | 'Interrupted';

/** The latest rotation of a secret. */
export interface RotationRecord {
  versionId: string;
  /** `test`: RotateImmediately=false, only testSecret runs against a throw-away version. */
  mode: 'rotate' | 'test';
  state: RotationState;
  step?: RotationStep;
  message?: string;
  startedDate: number;
  endedDate?: number;
  attempts: number;
}

/** Replication status of one replica (API `ReplicationStatusType.Status`). */
export type ReplicaStatus = 'InSync' | 'Failed' | 'InProgress';

/** One replica Region of a primary secret, as the primary records it. */
export interface ReplicaRecord {
  region: string;
  kmsKeyId?: string;
  status: ReplicaStatus;
  statusMessage?: string;
}

/** Everything the twin knows about one secret. Times are epoch milliseconds. */
export interface SecretRecord {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  lastRotatedDate?: number;
  /** When DeleteSecret was called. */
  deletedDate?: number;
  /** When the secret is purged (end of the recovery window). */
  deletionDate?: number;
  rotationEnabled?: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRules;
  nextRotationDate?: number;
  /** The last rotation or manual value change, from which the schedule counts. */
  scheduleAnchor?: number;
  versions: VersionRecord[];
  rotation?: RotationRecord;
  /** The resource-based policy as PutResourcePolicy received it (absent in older state files). */
  resourcePolicy?: string;
  /** Set on a replica: the Region of its primary (replication.ts). */
  primaryRegion?: string;
  /** Set on a primary: its replica Regions and their status (replication.ts). */
  replicas?: ReplicaRecord[];
}

/** The whole state, as persisted. */
export interface StoreSnapshot {
  secrets: SecretRecord[];
}

/** A rotation the runner must carry out. */
export interface RotationJob {
  arn: string;
  versionId: string;
  mode: 'rotate' | 'test';
  functionArn: string;
}

/** RotateSecret either starts a rotation, or refuses and possibly re-attempts a pending one. */
export type RotateOutcome =
  | { kind: 'started'; response: Record<string, unknown>; job: RotationJob }
  | { kind: 'refused'; error: ServiceException; resume?: RotationJob };

/** Options of {@link SecretsStore}. */
export interface StoreOptions {
  clock: Clock;
  region: string;
  accountId: string;
  /** Whether a rotation function name or ARN resolves; RotateSecret refuses unknown ones. */
  functionExists?: (arnOrName: string) => boolean;
  /** Whether a rotation job is running right now for this secret ARN. */
  isRotationRunning?: (arn: string) => boolean;
}

/** Epoch milliseconds to the epoch seconds the JSON protocol uses. */
export function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

/** 00:00 UTC of the day containing `ms`. */
export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

/** The 6 random characters Secrets Manager appends to a secret's name in its ARN. */
export function randomSuffix(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Drops members whose value is undefined, as the service omits absent members. */
export function prune(out: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

/** Reads `SecretString` xor `SecretBinary` (1–65 536 characters or bytes). */
export function readValue(input: Input): SecretValue | undefined {
  const text = optionalString(input, 'SecretString', { max: MAX_VALUE_LENGTH });
  const binary = optionalString(input, 'SecretBinary');
  if (text !== undefined && binary !== undefined) {
    throw invalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (text !== undefined) {
    if (text.length < 1) throw invalidParameter('SecretString must be 1-65536 characters long.');
    return { kind: 'string', text };
  }
  if (binary !== undefined) {
    if (Buffer.from(binary, 'base64').length > MAX_VALUE_LENGTH || binary.length < 1) {
      throw invalidParameter('SecretBinary must be 1-65536 bytes long.');
    }
    return { kind: 'binary', base64: binary };
  }
  return undefined;
}

/** Reads `ClientRequestToken` (32–64 characters). */
export function readToken(input: Input): string | undefined {
  const token = optionalString(input, 'ClientRequestToken');
  if (token !== undefined && (token.length < 32 || token.length > 64)) {
    throw invalidParameter('ClientRequestToken must be 32-64 characters long.');
  }
  return token;
}

/** A value as the response member `SecretString` or `SecretBinary`. */
export function valueOut(value: SecretValue): Record<string, unknown> {
  return value.kind === 'string' ? { SecretString: value.text } : { SecretBinary: value.base64 };
}

/** An opaque pagination token for a list offset. */
export function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

/** Reads a token made by {@link encodeToken}; anything else is `InvalidNextTokenException`. */
export function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      offset: unknown;
    };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through: any token we did not issue is invalid
  }
  throw invalidNextToken();
}
