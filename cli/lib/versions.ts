import type { LoginVerdict } from '../../shared/kinds/CredentialKind.js';
import type { CommandContext } from './context.js';
import type { Prober } from './probe.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  parseJsonObject,
  readVersionValue,
  type SecretState,
} from './secretState.js';
import { canTryLogins, type StrategyKind } from './strategy.js';

/** What the CLI learned about one labelled version by trying its credential. */
export interface VersionProbe {
  label: typeof AWSCURRENT | typeof AWSPENDING | typeof AWSPREVIOUS;
  versionId: string;
  /** False for RotateSecret's placeholder (createSecret never stored a value). */
  hasValue: boolean;
  /** The login name (not a secret), for the explanation. */
  username?: string;
  /**
   * The kind's login verdict; `unknown` where the CLI cannot try the credential (API keys,
   * example secrets); `invalid` when the rotation function would refuse the value itself.
   */
  outcome: LoginVerdict['outcome'] | 'unknown' | 'no-value';
  detail?: string;
}

/**
 * Reads AWSCURRENT, AWSPENDING and AWSPREVIOUS (those that exist) and, for kinds with a
 * login check, tries each with the kind's own check, the one testSecret runs (`env` is the
 * function's environment when known: its `DEFAULT_SSL_MODE`, `ROTATION_MODE`). Values are
 * registered for scrubbing and never returned.
 */
export async function probeVersions(
  ctx: CommandContext,
  state: SecretState,
  kind: StrategyKind,
  prober: Prober,
  timeoutMs: number,
  labels: readonly VersionProbe['label'][] = [AWSCURRENT, AWSPENDING, AWSPREVIOUS],
  env: NodeJS.ProcessEnv = {},
): Promise<VersionProbe[]> {
  const ids: Record<VersionProbe['label'], string | undefined> = {
    AWSCURRENT: state.current,
    AWSPENDING: state.pendingLeftBehind ? state.pending : undefined,
    AWSPREVIOUS: state.previous,
  };
  const probes: VersionProbe[] = [];
  for (const label of labels) {
    const versionId = ids[label];
    if (!versionId) continue;
    const text = await readVersionValue(ctx, state.arn, versionId);
    if (text === undefined) {
      probes.push({ label, versionId, hasValue: false, outcome: 'no-value' });
      continue;
    }
    const json = parseJsonObject(text);
    const username = typeof json?.username === 'string' ? json.username : undefined;
    if (!canTryLogins(kind)) {
      probes.push({
        label,
        versionId,
        hasValue: true,
        ...(username ? { username } : {}),
        outcome: 'unknown',
        detail: `the CLI cannot try ${kind === 'unknown' ? 'this kind of' : kind} credential`,
      });
      continue;
    }
    const verdict = await prober.login(kind, text, env, timeoutMs);
    const who = verdict.username ?? username;
    probes.push({
      label,
      versionId,
      hasValue: true,
      ...(who ? { username: who } : {}),
      outcome: verdict.outcome,
      ...(verdict.detail ? { detail: verdict.detail } : {}),
    });
  }
  return probes;
}

/** A one-line description of a probe for the plan output. */
export function describeProbe(p: VersionProbe): string {
  const who = p.username ? ` (${p.username})` : '';
  switch (p.outcome) {
    case 'no-value':
      return `${p.label} ${p.versionId.slice(0, 8)}: no value stored (createSecret never completed)`;
    case 'invalid':
      return `${p.label} ${p.versionId.slice(0, 8)}${who}: the rotation function refuses this value (${p.detail ?? 'invalid'})`;
    case 'accepted':
      return `${p.label} ${p.versionId.slice(0, 8)}${who}: the database ACCEPTS this login`;
    case 'rejected':
      return `${p.label} ${p.versionId.slice(0, 8)}${who}: the database REJECTS this login (${p.detail ?? 'auth failed'})`;
    case 'unreachable':
      return `${p.label} ${p.versionId.slice(0, 8)}${who}: database unreachable from here (${p.detail ?? ''})`;
    case 'unknown':
      return `${p.label} ${p.versionId.slice(0, 8)}${who}: unknown (${p.detail ?? 'not probed'})`;
    default:
      return `${p.label} ${p.versionId.slice(0, 8)}${who}: could not tell (${p.detail ?? 'error'})`;
  }
}
