import { SecretFormatError } from '../../shared/errors.js';
import type { CommandContext } from './context.js';
import { type LoginResult, loginFromSecret, type Prober } from './probe.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  parseJsonObject,
  readVersionValue,
  type SecretState,
} from './secretState.js';
import { isDatabase, type StrategyKind } from './strategy.js';

/** What the CLI learned about one labelled version by trying its credential. */
export interface VersionProbe {
  label: typeof AWSCURRENT | typeof AWSPENDING | typeof AWSPREVIOUS;
  versionId: string;
  /** False for RotateSecret's placeholder (createSecret never stored a value). */
  hasValue: boolean;
  /** The login name (not a secret), for the explanation. */
  username?: string;
  /** `unknown` where the CLI cannot try the credential (API keys, example secrets). */
  outcome: LoginResult['outcome'] | 'unknown' | 'no-value';
  detail?: string;
}

/**
 * Reads AWSCURRENT, AWSPENDING and AWSPREVIOUS (those that exist) and, for database
 * secrets, tries each login against the database with pg/mysql2, exactly as the function
 * would connect (TLS mode from the secret, else `defaultSslMode`). Values are registered
 * for scrubbing and never returned.
 */
export async function probeVersions(
  ctx: CommandContext,
  state: SecretState,
  kind: StrategyKind,
  prober: Prober,
  timeoutMs: number,
  labels: readonly VersionProbe['label'][] = [AWSCURRENT, AWSPENDING, AWSPREVIOUS],
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
    if (!isDatabase(kind)) {
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
    let login: ReturnType<typeof loginFromSecret>;
    try {
      login = loginFromSecret(kind, json);
    } catch (error) {
      // The functions refuse this value too (bad TLS fields): the message names the field.
      if (!(error instanceof SecretFormatError)) throw error;
      probes.push({ label, versionId, hasValue: true, outcome: 'error', detail: error.message });
      continue;
    }
    if (!login) {
      probes.push({
        label,
        versionId,
        hasValue: true,
        outcome: 'error',
        detail: 'the value lacks host, username or password',
      });
      continue;
    }
    const result = await prober.login(login, timeoutMs);
    probes.push({
      label,
      versionId,
      hasValue: true,
      username: login.username,
      outcome: result.outcome,
      ...(result.detail ? { detail: result.detail } : {}),
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
