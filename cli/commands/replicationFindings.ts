import type { CommandContext } from '../lib/context.js';
import type { Finding } from '../lib/findings.js';
import { isReplica, recreateReplicaFix } from '../lib/replication.js';
import type { SecretState } from '../lib/secretState.js';
import { rotatorCommand } from '../lib/suggest.js';

/**
 * `doctor`'s multi-Region checks. A replica is read-only and rotates with its primary, so its
 * own rotation settings are not findings: returns `true` for a replica, and the caller skips
 * the rotation and function checks. A primary gets one finding per replica; a failed one is a
 * warning (rotation still works, but readers in that Region keep the old value).
 */
export function replicationFindings(
  ctx: CommandContext,
  state: SecretState,
  findings: Finding[],
): boolean {
  const name = state.name;
  if (isReplica(state)) {
    findings.push({
      id: 'replica',
      severity: 'info',
      title: `This secret is a replica of the primary in ${state.primaryRegion}: it is read-only here and rotates with its primary.`,
      detail:
        'Rotation, its function and its schedule are configured on the primary; every new version reaches this Region by replication.',
      fix: rotatorCommand(ctx, ['doctor', name], { region: state.primaryRegion }),
    });
    return true;
  }
  for (const replica of state.replicas) {
    if (replica.status === 'Failed') {
      findings.push({
        id: 'replica-failed',
        severity: 'warning',
        title: `Replication to ${replica.region} failed${replica.message ? `: ${replica.message}` : ''}.`,
        detail: `Rotation still runs here, but readers in ${replica.region} do not get the rotated value.`,
        fix: recreateReplicaFix(ctx, name, replica.region),
      });
    } else if (replica.status === 'InSync') {
      findings.push({
        id: 'replica-in-sync',
        severity: 'ok',
        title: `Replicated to ${replica.region} (in sync).`,
      });
    } else {
      findings.push({
        id: 'replica-in-progress',
        severity: 'info',
        title: `Replication to ${replica.region} is ${replica.status}.`,
      });
    }
  }
  return false;
}
