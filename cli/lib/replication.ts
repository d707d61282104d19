import type { ReplicationStatusType } from '@aws-sdk/client-secrets-manager';
import { awsCommand, type SuggestContext } from './suggest.js';

/** One replica Region of a primary secret, as DescribeSecret's `ReplicationStatus` lists it. */
export interface ReplicaState {
  region: string;
  /** `InSync`, `InProgress` or `Failed`. */
  status: string;
  message?: string;
}

/** Where a secret stands in multi-Region replication. */
export interface ReplicationState {
  /** The primary's Region; `undefined` for a secret that is not replicated. */
  primaryRegion: string | undefined;
  /** The replicas of a primary (empty on a replica and on an unreplicated secret). */
  replicas: ReplicaState[];
}

/** The Region of a secret ARN. */
export function regionOfArn(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** True when the secret is a replica: its primary lives in another Region. */
export function isReplica(state: { arn: string; primaryRegion: string | undefined }): boolean {
  return state.primaryRegion !== undefined && state.primaryRegion !== regionOfArn(state.arn);
}

/** `ReplicationStatus` as {@link ReplicaState}s. */
export function replicaStates(status: ReplicationStatusType[] | undefined): ReplicaState[] {
  return (status ?? []).map((r) => ({
    region: r.Region ?? '?',
    status: r.Status ?? 'Unknown',
    ...(r.StatusMessage ? { message: r.StatusMessage } : {}),
  }));
}

/** The replicas whose replication failed: readers there do not get rotated values. */
export function failedReplicas(state: ReplicationState): ReplicaState[] {
  return state.replicas.filter((r) => r.status === 'Failed');
}

/**
 * The commands that re-create a failed replica. `--force-overwrite-replica-secret` replaces
 * a secret of the same name in that Region (the usual cause), so the operator checks first.
 */
export function recreateReplicaFix(ctx: SuggestContext, secret: string, region: string): string {
  const remove = awsCommand(
    ctx,
    'secretsmanager',
    'remove-regions-from-replication',
    '--secret-id',
    secret,
    '--remove-replica-regions',
    region,
  );
  const replicate = awsCommand(
    ctx,
    'secretsmanager',
    'replicate-secret-to-regions',
    '--secret-id',
    secret,
    '--add-replica-regions',
    `Region=${region}`,
    '--force-overwrite-replica-secret',
  );
  return `${remove} && ${replicate}   # replaces any secret of that name in ${region}: check it is unused first`;
}
