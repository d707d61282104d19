import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  type RotationRulesType,
} from '@aws-sdk/client-secrets-manager';
import { secretRegistry } from '../../shared/logging/redaction.js';
import type { CommandContext } from './context.js';
import { OperatorError } from './errors.js';
import { type ReplicationState, replicaStates } from './replication.js';
import { awsCommand } from './suggest.js';

/** Staging labels with service-defined meaning. */
export const AWSCURRENT = 'AWSCURRENT';
/** The label of the version being rotated in. */
export const AWSPENDING = 'AWSPENDING';
/** The label of the last known good version. */
export const AWSPREVIOUS = 'AWSPREVIOUS';

/**
 * The latest rotation as the local twin records it (`GET /_local/rotations`). AWS has no
 * such API: there, a failed step shows only in CloudTrail (`RotationFailed`) and the
 * function's logs.
 */
export interface LocalRotationRecord {
  state: 'InProgress' | 'Succeeded' | 'Failed' | 'Cancelled' | 'Abandoned' | 'Interrupted';
  versionId: string;
  mode?: string;
  step?: string;
  message?: string;
  attempts?: number;
  startedDate?: Date;
  endedDate?: Date;
}

/** What the operator commands know about one secret: metadata and labels, never values. */
export interface SecretState extends ReplicationState {
  arn: string;
  name: string;
  rotationEnabled: boolean | undefined;
  rotationLambdaArn: string | undefined;
  rotationRules: RotationRulesType | undefined;
  lastRotatedDate: Date | undefined;
  lastChangedDate: Date | undefined;
  nextRotationDate: Date | undefined;
  deletedDate: Date | undefined;
  kmsKeyId: string | undefined;
  /** Version id → labels (only labelled versions, as DescribeSecret lists them). */
  stages: Record<string, string[]>;
  current: string | undefined;
  pending: string | undefined;
  previous: string | undefined;
  /**
   * AWSPENDING on a version other than AWSCURRENT: a rotation started and has not finished
   * (running, or failed and left behind). RotateSecret is refused until it is resolved.
   */
  pendingLeftBehind: boolean;
  /** Creation time per version id, when ListSecretVersionIds was allowed. */
  created: Map<string, Date>;
  /** The twin's record of the latest rotation (local endpoint only). */
  local: LocalRotationRecord | undefined;
}

/** The version that holds `label`, if any. */
export function versionWith(stages: Record<string, string[]>, label: string): string | undefined {
  return Object.entries(stages).find(([, labels]) => labels.includes(label))?.[0];
}

/** The function name from a Lambda ARN (or the input when it is a bare name). */
export function functionName(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const match = /:function:([^:]+)/.exec(arn);
  return match ? match[1] : arn;
}

/** True when the SDK error is Secrets Manager's ResourceNotFoundException. */
export function isNotFound(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ResourceNotFoundException';
}

function fromDescribe(d: DescribeSecretCommandOutput): Omit<SecretState, 'created' | 'local'> {
  const stages = d.VersionIdsToStages ?? {};
  const current = versionWith(stages, AWSCURRENT);
  const pending = versionWith(stages, AWSPENDING);
  return {
    arn: d.ARN ?? '',
    name: d.Name ?? '',
    rotationEnabled: d.RotationEnabled,
    rotationLambdaArn: d.RotationLambdaARN,
    rotationRules: d.RotationRules,
    lastRotatedDate: d.LastRotatedDate,
    lastChangedDate: d.LastChangedDate,
    nextRotationDate: d.NextRotationDate,
    deletedDate: d.DeletedDate,
    kmsKeyId: d.KmsKeyId,
    stages,
    current,
    pending,
    previous: versionWith(stages, AWSPREVIOUS),
    pendingLeftBehind: pending !== undefined && pending !== current,
    primaryRegion: d.PrimaryRegion,
    replicas: replicaStates(d.ReplicationStatus),
  };
}

/**
 * Fetches the twin's rotation records (local endpoint only); `undefined` when the endpoint
 * is not our twin or does not answer.
 */
export async function localRotationRecords(
  ctx: CommandContext,
): Promise<Map<string, LocalRotationRecord> | undefined> {
  if (!ctx.local || !ctx.endpoint) return undefined;
  try {
    const url = new URL('/_local/rotations', ctx.endpoint);
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { Rotations?: Record<string, unknown>[] };
    const records = new Map<string, LocalRotationRecord>();
    const date = (s: unknown) => (typeof s === 'number' ? new Date(s * 1000) : undefined);
    for (const r of body.Rotations ?? []) {
      if (typeof r.ARN !== 'string' || typeof r.VersionId !== 'string') continue;
      records.set(r.ARN, {
        state: r.State as LocalRotationRecord['state'],
        versionId: r.VersionId,
        ...(typeof r.Mode === 'string' ? { mode: r.Mode } : {}),
        ...(typeof r.Step === 'string' ? { step: r.Step } : {}),
        ...(typeof r.Message === 'string' ? { message: r.Message } : {}),
        ...(typeof r.Attempts === 'number' ? { attempts: r.Attempts } : {}),
        ...(date(r.StartedDate) ? { startedDate: date(r.StartedDate) } : {}),
        ...(date(r.EndedDate) ? { endedDate: date(r.EndedDate) } : {}),
      });
    }
    return records;
  } catch {
    return undefined;
  }
}

/**
 * A pending version younger than this may belong to a rotation that is still running or
 * being retried: four steps of at most 15 minutes each (Lambda's limit), plus Secrets
 * Manager's retries. Against AWS, where steps are invisible, younger pending versions are
 * reported as "rotating" rather than stuck.
 */
export const POSSIBLY_RUNNING_MS = 60 * 60 * 1000;

/**
 * Creation time of every version of a secret (ListSecretVersionIds). Empty when the caller
 * may not list versions: ages are a nicety, every other answer still works.
 */
export async function versionCreationDates(
  ctx: CommandContext,
  arn: string,
): Promise<Map<string, Date>> {
  const created = new Map<string, Date>();
  try {
    let token: string | undefined;
    do {
      const page = await ctx.sm.send(
        new ListSecretVersionIdsCommand({ SecretId: arn, ...(token ? { NextToken: token } : {}) }),
      );
      for (const v of page.Versions ?? []) {
        if (v.VersionId && v.CreatedDate) created.set(v.VersionId, v.CreatedDate);
      }
      token = page.NextToken;
    } while (token);
  } catch {
    // See above: not fatal.
  }
  return created;
}

/**
 * Describes a secret, with version creation times and, against the twin, its rotation
 * record. Throws {@link OperatorError} when the secret does not exist.
 */
export async function loadSecretState(ctx: CommandContext, secretId: string): Promise<SecretState> {
  let described: DescribeSecretCommandOutput;
  try {
    described = await ctx.sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    if (isNotFound(error)) {
      throw new OperatorError(`Secret ${secretId} does not exist (or you may not see it).`, {
        fix: awsCommand(ctx, 'secretsmanager', 'list-secrets', '--query', 'SecretList[].Name'),
        cause: error,
      });
    }
    throw error;
  }
  const base = fromDescribe(described);
  const created = await versionCreationDates(ctx, base.arn);
  const records = await localRotationRecords(ctx);
  return { ...base, created, local: records?.get(base.arn) };
}

/**
 * Reads one version's value, registering it (and its sensitive JSON fields) so that no
 * output line can carry it. `undefined` when the version has no value (RotateSecret's
 * placeholder) or does not exist.
 */
export async function readVersionValue(
  ctx: CommandContext,
  arn: string,
  versionId: string,
): Promise<string | undefined> {
  try {
    const value = await ctx.sm.send(
      new GetSecretValueCommand({ SecretId: arn, VersionId: versionId }),
    );
    secretRegistry.registerSecretString(value.SecretString);
    return value.SecretString;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A secret value parsed as a JSON object, or `undefined` when it is not one. */
export function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
