import { invalidParameter, resourceNotFound } from './errors.js';
import {
  type Input,
  optionalBoolean,
  optionalString,
  optionalStringList,
  requiredString,
} from './input.js';
import { prune, type ReplicaRecord, type SecretRecord, seconds } from './model.js';
import { arnInRegion, primaryRegionOf, REGION_PATTERN, regionOf } from './regions.js';
import type { SecretTable } from './secretTable.js';

// Multi-Region secrets: a primary secret and its read-only replicas, one per Region, each a
// secret record of its own whose ARN differs from the primary's only in the Region ("The ARN
// for a replicated secret is the same as the primary secret except for the Region", User
// Guide). Replicas follow the primary: {@link propagate} copies versions, labels and metadata
// to them whenever the twin commits a change, so every rotation step shows in every Region.
// Writes to a replica are refused by the Region's table view (secretTable.ts).

/** `KmsKeyId` reported for a replica encrypted with the AWS managed key. */
const AWS_MANAGED_KEY = 'alias/aws/secretsmanager';
/** Status message of a replica in sync (as the console and Terraform show it). */
const SUCCEEDED = 'Replication succeeded';
/** The API reference's example status message of a replica that could not be created. */
const NAME_TAKEN = 'Secret with this name already exists in this region';
/** Wording of the twin (moto's): AWS's for an invalid or the primary's own Region is undocumented. */
const INVALID_REGION = 'Invalid replica region.';

/** One entry of `AddReplicaRegions` (API `ReplicaRegionType`). */
export interface ReplicaRequest {
  region: string;
  kmsKeyId?: string;
}

/** What a request asks to replicate: `AddReplicaRegions` and `ForceOverwriteReplicaSecret`. */
export interface ReplicationRequest {
  regions: ReplicaRequest[];
  force: boolean;
}

/**
 * Reads `AddReplicaRegions` (1 or more Regions, none the primary's own, no duplicates) and
 * `ForceOverwriteReplicaSecret`. An absent list is an empty request (CreateSecret).
 */
export function readReplication(input: Input, primaryRegion: string): ReplicationRequest {
  const force = optionalBoolean(input, 'ForceOverwriteReplicaSecret') ?? false;
  const raw = input.AddReplicaRegions;
  if (raw === undefined || raw === null) return { regions: [], force };
  if (!Array.isArray(raw) || raw.length < 1) {
    throw invalidParameter('AddReplicaRegions must list at least one Region.');
  }
  const regions = raw.map((entry): ReplicaRequest => {
    const item = (typeof entry === 'object' && entry !== null ? entry : {}) as Input;
    const region = requiredString(item, 'Region', { min: 1, max: 128 });
    if (!REGION_PATTERN.test(region) || region === primaryRegion) {
      throw invalidParameter(INVALID_REGION);
    }
    const kmsKeyId = optionalString(item, 'KmsKeyId', { max: 2048 });
    return kmsKeyId === undefined ? { region } : { region, kmsKeyId };
  });
  if (new Set(regions.map((r) => r.region)).size !== regions.length) {
    throw invalidParameter(INVALID_REGION);
  }
  return { regions, force };
}

function regionView(table: SecretTable, region: string): SecretTable {
  return table.inRegion({ region, refuseReplicas: false });
}

/** The replica record of `primary` in `region`, if it exists. */
function replicaOf(
  table: SecretTable,
  primary: SecretRecord,
  region: string,
): SecretRecord | undefined {
  const replica = regionView(table, region).byArn(arnInRegion(primary.arn, region));
  return replica?.primaryRegion === regionOf(primary.arn) ? replica : undefined;
}

/** Makes `replica` a copy of `primary`: versions, labels and metadata; not its own dates. */
function copyToReplica(primary: SecretRecord, replica: SecretRecord, kmsKeyId?: string): void {
  const accessed = new Map(replica.versions.map((v) => [v.versionId, v.lastAccessedDate]));
  replica.versions = structuredClone(primary.versions).map((version) => {
    const { lastAccessedDate: _primaryAccess, ...rest } = version;
    const own = accessed.get(version.versionId);
    return own === undefined ? rest : { ...rest, lastAccessedDate: own };
  });
  replica.description = primary.description;
  replica.tags = primary.tags.map((t) => ({ ...t }));
  replica.kmsKeyId = kmsKeyId;
  replica.lastChangedDate = primary.lastChangedDate;
  replica.lastRotatedDate = primary.lastRotatedDate;
}

/**
 * Creates (or re-syncs) the replica of `primary` described by `entry`. A secret of the same
 * name in that Region makes the replica fail, unless `force` replaces it (API
 * `ForceOverwriteReplicaSecret`); a replica of another primary is never replaced.
 */
function createReplica(
  table: SecretTable,
  primary: SecretRecord,
  entry: ReplicaRecord,
  force: boolean,
): void {
  const arn = arnInRegion(primary.arn, entry.region);
  let replica = replicaOf(table, primary, entry.region);
  const taken = regionView(table, entry.region)
    .all()
    .find((s) => s.name === primary.name && s !== replica);
  if (taken && (!force || taken.primaryRegion !== undefined)) {
    entry.status = 'Failed';
    entry.statusMessage = NAME_TAKEN;
    return;
  }
  if (taken) table.remove(taken.arn);
  if (!replica) {
    const now = table.now();
    replica = {
      arn,
      name: primary.name,
      tags: [],
      createdDate: now,
      lastChangedDate: now,
      versions: [],
      primaryRegion: regionOf(primary.arn),
    };
    table.add(replica);
  }
  copyToReplica(primary, replica, entry.kmsKeyId);
  entry.status = 'InSync';
  entry.statusMessage = SUCCEEDED;
}

/**
 * Adds replica Regions to `primary` and creates the replicas at once (AWS replicates
 * asynchronously, reporting `InProgress` first). A Region already in sync is left as it is; a
 * failed one is tried again.
 */
export function addReplicas(
  table: SecretTable,
  primary: SecretRecord,
  request: ReplicationRequest,
): void {
  if (request.regions.length === 0) return;
  primary.replicas ??= [];
  for (const { region, kmsKeyId } of request.regions) {
    let entry = primary.replicas.find((r) => r.region === region);
    if (entry?.status === 'InSync') continue;
    if (!entry) {
      entry = { region, status: 'InProgress' };
      primary.replicas.push(entry);
    }
    entry.kmsKeyId = kmsKeyId;
    createReplica(table, primary, entry, request.force);
  }
  primary.lastChangedDate = table.now();
}

/** `ReplicationStatus` of a primary (API `ReplicationStatusType`). */
export function replicationStatus(
  table: SecretTable,
  primary: SecretRecord,
): Record<string, unknown>[] {
  return (primary.replicas ?? []).map((entry) =>
    prune({
      Region: entry.region,
      KmsKeyId: entry.kmsKeyId ?? AWS_MANAGED_KEY,
      Status: entry.status,
      StatusMessage: entry.statusMessage,
      LastAccessedDate: seconds(replicaOf(table, primary, entry.region)?.lastAccessedDate),
    }),
  );
}

/** ReplicateSecretToRegions: called in the primary's Region. */
export function replicateSecretToRegions(
  table: SecretTable,
  input: Input,
): Record<string, unknown> {
  const primary = table.getActive(requiredString(input, 'SecretId', { min: 1, max: 2048 }));
  if (input.AddReplicaRegions === undefined || input.AddReplicaRegions === null) {
    // Required member: the model's validation error.
    requiredString(input, 'AddReplicaRegions');
  }
  addReplicas(table, primary, readReplication(input, regionOf(primary.arn)));
  return { ARN: primary.arn, ReplicationStatus: replicationStatus(table, primary) };
}

/**
 * RemoveRegionsFromReplication: deletes the replicas in those Regions (at once) and forgets
 * them. A Region that is not a replica Region is ignored.
 */
export function removeRegionsFromReplication(
  table: SecretTable,
  input: Input,
): Record<string, unknown> {
  const primary = table.getActive(requiredString(input, 'SecretId', { min: 1, max: 2048 }));
  const regions = optionalStringList(input, 'RemoveReplicaRegions');
  if (!regions || regions.length < 1) {
    throw invalidParameter('RemoveReplicaRegions must list at least one Region.');
  }
  for (const region of regions) {
    const replica = replicaOf(table, primary, region);
    if (replica) table.remove(replica.arn);
  }
  forgetReplicas(primary, regions, table.now());
  return { ARN: primary.arn, ReplicationStatus: replicationStatus(table, primary) };
}

/** Drops replica Regions from a primary's list (the last one makes it unreplicated). */
function forgetReplicas(primary: SecretRecord, regions: string[], now: number): void {
  const left = (primary.replicas ?? []).filter((r) => !regions.includes(r.region));
  if (left.length > 0) primary.replicas = left;
  else delete primary.replicas;
  primary.lastChangedDate = now;
}

/**
 * StopReplicationToReplica: called in the replica's Region; the replica becomes a standalone
 * secret with the same ARN, and the primary stops replicating to that Region.
 */
export function stopReplicationToReplica(
  table: SecretTable,
  input: Input,
): Record<string, unknown> {
  const replica = table.find(requiredString(input, 'SecretId', { min: 1, max: 2048 }));
  if (!replica) throw resourceNotFound();
  if (replica.primaryRegion === undefined) {
    throw invalidParameter('The secret is not a replica secret.');
  }
  const region = regionOf(replica.arn);
  const primary = regionView(table, replica.primaryRegion).byArn(
    arnInRegion(replica.arn, replica.primaryRegion),
  );
  const now = table.now();
  if (primary) forgetReplicas(primary, [region], now);
  delete replica.primaryRegion;
  replica.lastChangedDate = now;
  return { ARN: replica.arn };
}

/**
 * Copies every primary's current state to its replicas that are in sync. The twin calls it
 * whenever it commits a change (before persisting), so a replica never lags its primary.
 */
export function propagate(table: SecretTable): void {
  for (const primary of table.all()) {
    for (const entry of primary.replicas ?? []) {
      if (entry.status !== 'InSync') continue;
      const replica = replicaOf(table, primary, entry.region);
      if (replica) {
        copyToReplica(primary, replica, entry.kmsKeyId);
        // Reached through all(): the state file must hear of the change (secretTable.ts).
        table.markChanged(replica);
      } else {
        entry.status = 'Failed';
        entry.statusMessage = 'The replica secret no longer exists';
        table.markChanged(primary);
      }
    }
  }
}

/** `PrimaryRegion` and, on a primary, `ReplicationStatus` (DescribeSecret's members). */
export function replicationFields(
  table: SecretTable,
  secret: SecretRecord,
): Record<string, unknown> {
  return prune({
    PrimaryRegion: primaryRegionOf(secret),
    ReplicationStatus: secret.replicas?.length ? replicationStatus(table, secret) : undefined,
  });
}

type Operation = (table: SecretTable, input: Input) => Record<string, unknown>;

/** DescribeSecret with the replication members. */
export function withReplicationFields(describe: Operation): Operation {
  return (table, input) => {
    const output = describe(table, input);
    const secret = table.find(String(input.SecretId));
    return secret ? { ...output, ...replicationFields(table, secret) } : output;
  };
}

/** ListSecrets with `PrimaryRegion` in each entry (API `SecretListEntry`). */
export function withPrimaryRegion(list: Operation): Operation {
  return (table, input) => {
    const output = list(table, input);
    const entries = output.SecretList as Record<string, unknown>[] | undefined;
    for (const entry of entries ?? []) {
      const secret = table.byArn(String(entry.ARN));
      const primaryRegion = secret ? primaryRegionOf(secret) : undefined;
      if (primaryRegion !== undefined) entry.PrimaryRegion = primaryRegion;
    }
    return output;
  };
}

/**
 * DeleteSecret refusing a primary that still has replicas, with the service's message (as
 * reported in gruntwork-io/cloud-nuke#435).
 */
export function refusingReplicatedPrimary(remove: Operation): Operation {
  return (table, input) => {
    const secret = typeof input.SecretId === 'string' ? table.find(input.SecretId) : undefined;
    if (secret?.replicas?.length) {
      throw invalidParameter(
        `You can't delete secret ${secret.arn} that still has replica regions [${secret.replicas
          .map((r) => r.region)
          .join(', ')}].`,
      );
    }
    return remove(table, input);
  };
}
