import { secretRegistry } from '../../shared/logging/redaction.js';
import {
  type ApiKeyReconcileReport,
  reconcileApiKeys,
} from '../../shared/strategies/apikey/reconcile.js';
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
}

/**
 * `reconcile <secret>`: lists the provider's keys of an API-key secret and reports the ones
 * that are neither current, previous nor pending (stranded by a failed clean-up), keys the
 * secret names that the provider no longer has, and keys past an age limit. Read-only: it
 * prints the revocation to do, never does it. Exit 1 when anything is reported.
 */
export async function reconcileCommand(
  ctx: CommandContext,
  options: ReconcileOptions,
): Promise<number> {
  const report = await reconcileApiKeys({
    secretId: options.secret,
    client: ctx.sm,
    // The provider's admin credential is read here; nothing we print may contain it.
    registerSecret: (value) => secretRegistry.register(value),
    ...(options.maxKeyAgeDays !== undefined ? { maxKeyAgeDays: options.maxKeyAgeDays } : {}),
    ...(options.labelPrefix !== undefined ? { labelPrefix: options.labelPrefix } : {}),
  });
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
