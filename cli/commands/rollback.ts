import {
  ListSecretVersionIdsCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CommandContext } from '../lib/context.js';
import { OperatorError } from '../lib/errors.js';
import { shortId } from '../lib/output.js';
import type { Prober } from '../lib/probe.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  loadSecretState,
  parseJsonObject,
  readVersionValue,
} from '../lib/secretState.js';
import { canTryLogins, classifySecret } from '../lib/strategy.js';
import { rotatorCommand } from '../lib/suggest.js';
import { describeProbe, probeVersions } from '../lib/versions.js';
import { moveLabelCommand } from './unstick.js';

/** Options of {@link rollbackCommand}. */
export interface RollbackOptions {
  secret: string;
  /** Show what would happen, change nothing. */
  dryRun: boolean;
  connectTimeoutMs: number;
  prober: Prober;
}

/** What `rollback --json` prints. */
export interface RollbackReport {
  secret: string;
  outcome: 'rolled-back' | 'would-roll-back' | 'refused';
  reason: string;
  fromVersionId?: string;
  toVersionId?: string;
  command?: string;
  /** Follow-ups the operator should know about (e.g. a provider key left valid). */
  notes?: string[];
}

/**
 * `rollback <secret>`: moves AWSCURRENT back to the AWSPREVIOUS version, but only after
 * proving the previous credential still works (alternating users; API keys, which keep the
 * previous key valid until the next rotation). Refuses, with the reason, where the move
 * would hand clients a dead password (single-user rotation changed it) or where the CLI
 * cannot check.
 */
export async function rollbackCommand(
  ctx: CommandContext,
  options: RollbackOptions,
): Promise<number> {
  const state = await loadSecretState(ctx, options.secret);
  const { out } = ctx;
  const rotateForward = rotatorCommand(ctx, ['rotate', state.name, '--wait']);
  const refuse = (reason: string, fix?: string): never => {
    throw new OperatorError(`Refusing to roll back ${state.name}: ${reason}`, fix ? { fix } : {});
  };
  if (state.pendingLeftBehind) {
    refuse(
      `a rotation is pending (AWSPENDING on version ${shortId(state.pending ?? '')}). Resolve it first.`,
      rotatorCommand(ctx, ['unstick', state.name]),
    );
  }
  const current = state.current;
  const previous = state.previous;
  if (!current || !previous || previous === current) {
    refuse('there is no AWSPREVIOUS version to go back to.');
  }
  const currentJson = parseJsonObject(await readVersionValue(ctx, state.arn, current as string));
  const previousText = await readVersionValue(ctx, state.arn, previous as string);
  if (previousText === undefined) refuse('the AWSPREVIOUS version has no value.');
  const { kind } = classifySecret(currentJson, state.rotationLambdaArn);
  let reason: string;
  const notes: string[] = [];
  if (canTryLogins(kind)) {
    const [probe] = await probeVersions(
      ctx,
      state,
      kind,
      options.prober,
      options.connectTimeoutMs,
      [AWSPREVIOUS],
    );
    if (!probe) refuse('the AWSPREVIOUS version could not be read.');
    const p = probe as NonNullable<typeof probe>;
    if (!ctx.json) out.line(`  ${describeProbe(p)}`);
    if (p.outcome === 'rejected') {
      const previousJson = parseJsonObject(previousText);
      const sameUser =
        previousJson?.username !== undefined && previousJson.username === currentJson?.username;
      refuse(
        sameUser
          ? `the database no longer accepts the previous password of ${String(previousJson?.username)}: single-user rotation changed it at setSecret. Moving AWSCURRENT back would give every client a dead password and lock them out. Rotate forward instead.`
          : `the database refuses the previous login (${p.detail ?? 'auth failed'}); moving AWSCURRENT back would lock clients out.`,
        rotateForward,
      );
    }
    if (p.outcome !== 'accepted') {
      refuse(
        `the previous login could not be checked (${p.outcome}${p.detail ? `: ${p.detail}` : ''}). Run rollback from a host that reaches the database.`,
      );
    }
    reason = `the database accepts the previous login${p.username ? ` (${p.username})` : ''}`;
  } else if (kind === 'apikey') {
    const provider = currentJson?.provider;
    if (provider !== null && typeof provider === 'object') {
      const declared = provider as { ssmParameter?: unknown; capabilities?: unknown };
      const maxLiveKeys = (declared.capabilities as { maxLiveKeys?: unknown } | undefined)
        ?.maxLiveKeys;
      // Single-key mode revokes the AWSPREVIOUS key at finishSecret: moving AWSCURRENT back
      // would hand every client a revoked key.
      if (maxLiveKeys === 1) {
        refuse(
          'the provider allows one live key (maxLiveKeys 1), so finishSecret revoked the AWSPREVIOUS key; moving AWSCURRENT back would lock clients out. Rotate forward instead.',
          rotateForward,
        );
      }
      // Two-slot mode revokes the AWSPREVIOUS key in createSecret, before minting: a rotation
      // attempted since (and abandoned, e.g. by unstick) has already revoked it.
      if (maxLiveKeys === 2) {
        const later = await laterVersion(ctx, state.arn, current as string, previous as string);
        if (later !== undefined) {
          refuse(
            later === null
              ? 'the provider allows two live keys and the CLI could not list the versions to tell whether a later rotation already revoked the AWSPREVIOUS key (ListSecretVersionIds).'
              : `the provider allows two live keys (maxLiveKeys 2) and a later rotation (version ${shortId(later)}) ran createSecret, which revokes the AWSPREVIOUS key; moving AWSCURRENT back would lock clients out. Rotate forward instead.`,
            rotateForward,
          );
        }
      }
      if (declared.ssmParameter !== undefined) {
        refuse(
          'the provider is declared in an SSM parameter, so the CLI cannot tell whether it allows only one live key (then the AWSPREVIOUS key was revoked and moving AWSCURRENT back would lock clients out).',
        );
      }
    }
    reason = 'the API-key rotator keeps the previous key valid until the next rotation retires it';
    const keyId = currentJson?.keyId;
    if (currentJson?.provider !== undefined && typeof keyId === 'string') {
      // The next rotation starts from the restored version and never learns of this key.
      notes.push(
        `The provider key ${keyId} of the version being rolled away from stays valid at the provider; revoke it there once nothing uses it.`,
      );
    }
  } else if (kind === 'example') {
    reason = 'example secrets are checked by nothing but their readers';
  } else {
    refuse(
      'the CLI cannot tell whether the previous credential still works for this kind of secret.',
    );
    return 1;
  }
  // AWSPENDING left on the current version (a finished rotation) would, once that version is
  // AWSPREVIOUS, look like a pending rotation: RotateSecret refuses and re-attempts it,
  // moving AWSCURRENT forward again. It goes with the move.
  const clearPending = state.stages[current as string]?.includes(AWSPENDING) === true;
  const command = [
    moveLabelCommand(ctx, state.name, AWSCURRENT, { to: previous, from: current }),
    ...(clearPending ? [moveLabelCommand(ctx, state.name, AWSPENDING, { from: current })] : []),
  ].join(' && ');
  if (!options.dryRun) {
    await ctx.sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: state.arn,
        VersionStage: AWSCURRENT,
        MoveToVersionId: previous,
        RemoveFromVersionId: current,
      }),
    );
    if (clearPending) {
      await ctx.sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: state.arn,
          VersionStage: AWSPENDING,
          RemoveFromVersionId: current,
        }),
      );
    }
  }
  const report: RollbackReport = {
    secret: state.name,
    outcome: options.dryRun ? 'would-roll-back' : 'rolled-back',
    reason,
    fromVersionId: current as string,
    toVersionId: previous as string,
    command,
    ...(notes.length > 0 ? { notes } : {}),
  };
  if (ctx.json) out.json(report);
  else if (options.dryRun) {
    out.line(
      `Would move AWSCURRENT from ${shortId(current as string)} back to ${shortId(previous as string)}: ${reason}.`,
    );
    out.line(`  ${command}`);
  } else {
    out.line(
      out.style.green(
        `Rolled back ${state.name}: AWSCURRENT is version ${shortId(previous as string)} again (${reason}); ${shortId(current as string)} is now AWSPREVIOUS.`,
      ),
    );
  }
  if (!ctx.json) for (const note of notes) out.line(out.style.yellow(`! ${note}`));
  return 0;
}

/**
 * A version (labelled or not) created after `current`, other than `previous`: a rotation
 * attempted since `current` became current. `undefined` when there is none, `null` when
 * the versions could not be listed.
 */
async function laterVersion(
  ctx: CommandContext,
  arn: string,
  current: string,
  previous: string,
): Promise<string | null | undefined> {
  const versions: Array<{ id: string; created: number }> = [];
  try {
    let token: string | undefined;
    do {
      const page = await ctx.sm.send(
        new ListSecretVersionIdsCommand({
          SecretId: arn,
          IncludeDeprecated: true,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const v of page.Versions ?? []) {
        if (v.VersionId && v.CreatedDate)
          versions.push({ id: v.VersionId, created: v.CreatedDate.getTime() });
      }
      token = page.NextToken;
    } while (token);
  } catch {
    return null;
  }
  const since = versions.find((v) => v.id === current)?.created;
  if (since === undefined) return null;
  return versions.find((v) => v.id !== current && v.id !== previous && v.created > since)?.id;
}
