import { SecretFormatError } from '../../shared/errors.js';
import { secretRegistry } from '../../shared/logging/redaction.js';
import {
  type ApiKeyReconcileReport,
  reconcileApiKeys,
} from '../../shared/strategies/apikey/reconcile.js';
import {
  reconcileTargets,
  type TargetReconcileReport,
} from '../../shared/sync/reconcileTargets.js';
import { TargetWriter } from '../../shared/sync/TargetWriter.js';
import type { CommandContext } from '../lib/context.js';
import { renderTable } from '../lib/output.js';
import { rotatorCommand } from '../lib/suggest.js';

/** Options of {@link reconcileCommand}. */
export interface ReconcileOptions {
  secret: string;
  /** Flag keys older than this many days (when the provider reports creation times). */
  maxKeyAgeDays?: number;
  /** Label prefix of keys rotator minted (`rotator-`); `""` reports every unreferenced key. */
  labelPrefix?: string;
  /** Write AWSCURRENT to every sync target that does not hold it. */
  apply?: boolean;
}

/**
 * `reconcile <secret>`: for a secret with sync targets (docs/sync.md), reports the targets
 * that do not hold AWSCURRENT and, with `--apply`, writes it to them. For an API-key secret,
 * lists the provider's keys and reports the ones that are neither current, previous nor
 * pending (stranded by a failed clean-up), keys the secret names that the provider no longer
 * has, and keys past an age limit; it prints the revocation to do, never does it. Exit 1
 * when anything is left to fix.
 */
export async function reconcileCommand(
  ctx: CommandContext,
  options: ReconcileOptions,
): Promise<number> {
  const sync = await reconcileTargets({
    secretId: options.secret,
    client: ctx.sm,
    writer: async () => new TargetWriter(ctx.syncClients),
    apply: options.apply === true,
    registerSecret: (value) => secretRegistry.register(value),
  });
  if (sync.targets.length === 0) return reconcileKeys(ctx, options);
  // A secret with sync targets is often not an API-key secret: its key report is shown only
  // when a provider holds its keys.
  const keys = await apiKeyReport(ctx, options).catch((error: unknown) => {
    if (error instanceof SecretFormatError) return undefined;
    throw error;
  });
  const withKeys = keys?.mode === 'provider' ? keys : undefined;
  const healthy = sync.healthy && (withKeys?.healthy ?? true);
  if (ctx.json) {
    ctx.out.json({
      ...(withKeys ?? {}),
      secretId: sync.secretId,
      syncTargets: sync.targets,
      healthy,
    });
    return healthy ? 0 : 1;
  }
  printTargets(ctx, sync, options.apply === true);
  if (withKeys) {
    ctx.out.line();
    printReport(ctx, withKeys);
  }
  return healthy ? 0 : 1;
}

function printTargets(ctx: CommandContext, report: TargetReconcileReport, applied: boolean): void {
  const { out } = ctx;
  const { style } = out;
  const rows = report.targets.map((t) => [
    t.target,
    t.tag,
    t.found === 'in-step' ? style.green(t.found) : style.red(t.found),
    t.repaired ? style.green('repaired') : '',
  ]);
  for (const line of renderTable(['SYNC TARGET', 'TAG', 'FOUND', ''], rows, style)) out.line(line);
  out.line();
  for (const t of report.targets) {
    if (t.error) out.line(style.red(`error: ${t.error}`));
    else if (t.found !== 'in-step' && !t.repaired) {
      out.line(style.red(`${t.found}: ${t.target} does not hold AWSCURRENT`));
    }
  }
  if (report.healthy) {
    out.line(style.green('in step: every sync target holds AWSCURRENT'));
  } else if (!applied) {
    out.line(`repair with ${rotatorCommand(ctx, ['reconcile', report.secretId, '--apply'])}`);
  }
}

function apiKeyReport(ctx: CommandContext, options: ReconcileOptions) {
  return reconcileApiKeys({
    secretId: options.secret,
    client: ctx.sm,
    // The provider's admin credential is read here; nothing we print may contain it.
    registerSecret: (value) => secretRegistry.register(value),
    ...(options.maxKeyAgeDays !== undefined ? { maxKeyAgeDays: options.maxKeyAgeDays } : {}),
    ...(options.labelPrefix !== undefined ? { labelPrefix: options.labelPrefix } : {}),
  });
}

async function reconcileKeys(ctx: CommandContext, options: ReconcileOptions): Promise<number> {
  const report = await apiKeyReport(ctx, options);
  if (ctx.json) {
    ctx.out.json(report);
    return report.healthy ? 0 : 1;
  }
  printReport(ctx, report);
  return report.healthy ? 0 : 1;
}

function printReport(ctx: CommandContext, report: ApiKeyReconcileReport): void {
  const { out } = ctx;
  const { style } = out;
  if (report.mode === 'self-issued') {
    out.line(`${report.secretId}: self-issued keys; no provider holds keys to reconcile.`);
    return;
  }
  if (!report.listed) {
    out.line(
      `${report.secretId}: the provider cannot list keys (capabilities.canList is false); nothing to check.`,
    );
    return;
  }
  const rows = report.keys.map((key) => [
    key.id,
    key.label ?? '',
    key.createdAt ?? '',
    key.status === 'stranded' ? style.red(key.status) : key.status,
    key.tooOld ? style.yellow('too old') : '',
  ]);
  for (const line of renderTable(['KEY ID', 'LABEL', 'CREATED', 'STATUS', ''], rows, style)) {
    out.line(line);
  }
  out.line();
  for (const id of report.stranded) {
    out.line(
      style.red(
        `stranded: key ${id} is neither current, previous nor pending; revoke it at the provider`,
      ),
    );
  }
  for (const { stage, keyId } of report.missing) {
    out.line(
      style.red(
        `missing: ${stage} names key ${keyId}, which the provider does not list; clients using it are refused. Rotate now: ${rotatorCommand(ctx, ['rotate', report.secretId, '--wait'])}`,
      ),
    );
  }
  for (const id of report.tooOld) {
    out.line(style.yellow(`too old: key ${id} is past the age limit; rotate to replace it`));
  }
  if (report.healthy) out.line(style.green('healthy: every provider key is accounted for'));
}
