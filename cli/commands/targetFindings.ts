import { SecretFormatError } from '../../shared/errors.js';
import type { KindTarget, LoginVerdict } from '../../shared/kinds/CredentialKind.js';
import type { CommandContext } from '../lib/context.js';
import type { Finding } from '../lib/findings.js';
import type { Prober } from '../lib/probe.js';
import { functionName, type SecretState } from '../lib/secretState.js';
import {
  CONNECTION_STRING_HAZARDS,
  canTryLogins,
  kindOf,
  passwordPolicyHazards,
  type StrategyKind,
} from '../lib/strategy.js';
import { awsCommand, rotatorCommand, samCommand } from '../lib/suggest.js';

/** What the target checks need from `doctor`'s options. */
export interface TargetCheckOptions {
  connectTimeoutMs: number;
  prober: Prober;
}

function policyFinding(
  ctx: CommandContext,
  kind: StrategyKind,
  env: Record<string, string> | undefined,
  state: SecretState,
  findings: Finding[],
): void {
  // Only kinds that log in to a server with a generated password put it in connection strings.
  const logsIn = kindOf(kind)?.checkLogin !== undefined && kindOf(kind)?.target !== undefined;
  if (!logsIn) return;
  const hazards = passwordPolicyHazards(kind, env);
  if (hazards.unsafe.length === 0) {
    findings.push({
      id: 'password-policy',
      severity: 'ok',
      title: `Generated passwords avoid connection-string metacharacters (${hazards.source}).`,
    });
    return;
  }
  const shown = hazards.unsafe.map((c) => (c === ' ' ? 'space' : c)).join(' ');
  const exclude = `${hazards.policy.excludeCharacters}${hazards.unsafe.join('')}`;
  findings.push({
    id: 'password-policy-unsafe-characters',
    severity: 'warning',
    title: `Generated passwords may contain characters that break connection strings: ${shown}`,
    detail: `${hazards.unsafe
      .slice(0, 4)
      .map((c) => `"${c === ' ' ? 'space' : c}" ${CONNECTION_STRING_HAZARDS[c]}`)
      .join(
        '; ',
      )}. Safe only if every consumer escapes the password (policy from the ${hazards.source}${env ? ` of ${functionName(state.rotationLambdaArn)}` : ''}).`,
    fix: `${samCommand(ctx, 'deploy', '--parameter-overrides', `ExcludeCharacters=${exclude}`)}   # or ExcludePunctuation=true (letters and digits only)`,
  });
}

function refusedTlsSettings(error: SecretFormatError): Finding {
  return {
    id: 'tls-settings-invalid',
    severity: 'error',
    title: `The rotation function refuses this secret's TLS settings: ${error.message}.`,
    detail: 'testSecret fails with the same SecretFormatError until the field is fixed.',
  };
}

async function reachFindings(
  ctx: CommandContext,
  kind: StrategyKind,
  json: Record<string, unknown>,
  env: Record<string, string> | undefined,
  state: SecretState,
  options: TargetCheckOptions,
  findings: Finding[],
): Promise<void> {
  let target: KindTarget | undefined;
  try {
    // The kind reads host, port and TLS fields with the function's own code.
    target = kindOf(kind)?.target?.(json, env ?? {});
  } catch (error) {
    if (!(error instanceof SecretFormatError)) throw error;
    findings.push(refusedTlsSettings(error));
    return;
  }
  if (!target) return;
  const { host, port, what } = target;
  const mode = target.tls.mode;
  const reach = await options.prober.reach(host, port, options.connectTimeoutMs);
  if (!reach.ok) {
    findings.push({
      id: 'target-unreachable',
      severity: 'warning',
      title: `Cannot reach ${what} at ${host}:${port} from where this CLI runs (${reach.detail ?? 'no answer'}).`,
      detail:
        "The function runs inside its VPC, so this can be expected from a laptop. If the function cannot reach it either, setSecret fails after the connect timeout: check the function's subnets and security groups, the database's inbound rules, and that host/port in the secret are right.",
      fix: `${awsCommand(ctx, 'lambda', 'get-function-configuration', '--function-name', state.rotationLambdaArn ?? '<rotator>', '--query', 'VpcConfig')}   # compare with the database's VPC and security groups`,
    });
    return;
  }
  findings.push({
    id: 'target-reachable',
    severity: 'ok',
    title: `${what[0]?.toUpperCase()}${what.slice(1)} at ${host}:${port} accepts connections (${reach.ms} ms).`,
  });
  if (mode === 'disable') {
    findings.push({
      id: 'tls-disabled',
      severity: 'warning',
      title: 'The secret turns TLS off: credentials and data cross the network in plaintext.',
      fix: 'set "sslMode": "verify-full" in the secret (with "sslCa" if the server\'s CA is not in the trust store)',
    });
    return;
  }
  let tls: Awaited<ReturnType<Prober['tls']>>;
  try {
    tls = await options.prober.tls(target, options.connectTimeoutMs);
  } catch (error) {
    // An unreadable sslCa file: the function fails the same way at connect.
    if (!(error instanceof SecretFormatError)) throw error;
    findings.push(refusedTlsSettings(error));
    return;
  }
  if (!tls.supported) {
    findings.push({
      id: 'tls-unsupported',
      severity: 'error',
      title: `${what[0]?.toUpperCase()}${what.slice(1)} does not accept TLS (${tls.detail ?? 'refused'}), and the rotator never falls back to plaintext.`,
      fix: 'enable TLS on the server, or (only on a trusted network) set "sslMode": "disable" in the secret',
    });
    return;
  }
  if (!tls.verified) {
    findings.push({
      id: 'tls-unverified',
      severity: mode === 'verify-full' ? 'error' : 'info',
      title: `The server's certificate does not verify for ${host} (${tls.detail ?? 'unknown reason'}).`,
      detail:
        mode === 'verify-full'
          ? 'With sslMode verify-full (the default) the rotation fails at setSecret. Give the function the CA that signed the certificate, or connect by the name the certificate carries.'
          : 'sslMode is require: the connection is encrypted but the server is not authenticated.',
      fix: 'put the CA bundle in the secret as "sslCa" (PEM text or a path in the bundle), or set NODE_EXTRA_CA_CERTS on the function; "sslMode": "require" encrypts without verifying',
    });
    return;
  }
  findings.push({
    id: 'tls-verified',
    severity: 'ok',
    title: `TLS verifies for ${host}${tls.protocol ? ` (${tls.protocol})` : ''}.`,
  });
}

/**
 * Tries the AWSCURRENT login with the kind's own check (the one testSecret runs), under the
 * function's environment when known: setSecret logs in with it first. `unreachable` is left
 * to the reachability finding, and a TLS field the function refuses to its own finding.
 */
function loginFinding(
  ctx: CommandContext,
  state: SecretState,
  verdict: LoginVerdict,
  findings: Finding[],
): void {
  const who = verdict.username ? ` of user "${verdict.username}"` : '';
  switch (verdict.outcome) {
    case 'accepted':
      findings.push({
        id: 'current-login',
        severity: 'ok',
        title: `The AWSCURRENT login${who} works.`,
      });
      return;
    case 'rejected':
      findings.push({
        id: 'current-login-refused',
        severity: 'error',
        title: `The target refuses the AWSCURRENT login${who} (${verdict.detail ?? 'auth failed'}).`,
        detail:
          'setSecret logs in with the current value first (single-user: to change its own password; alternating users: before acting as admin), so the rotation fails. Someone changed the password outside Secrets Manager, or a rotation was rolled back by hand.',
        fix: `put the working password back with ${awsCommand(ctx, 'secretsmanager', 'put-secret-value', '--secret-id', state.name, '--secret-string', 'file://secret.json')}, or run ${rotatorCommand(ctx, ['unstick', state.name])} if a rotation is pending`,
      });
      return;
    case 'invalid':
      if (findings.some((f) => f.id === 'tls-settings-invalid')) return;
      findings.push({
        id: 'current-login-invalid',
        severity: 'error',
        title: `The rotation function refuses the AWSCURRENT value: ${verdict.detail ?? `field ${verdict.field}`}.`,
      });
      return;
    case 'unreachable':
      return;
    default:
      findings.push({
        id: 'current-login-failed',
        severity: findings.some((f) => f.severity === 'error') ? 'info' : 'error',
        title: `Logging in with the AWSCURRENT value failed${who} (${verdict.detail ?? 'error'}); testSecret fails the same way.`,
      });
  }
}

/**
 * The checks of a secret's target: password-policy hazards, reachability and TLS from
 * where the CLI runs, and the AWSCURRENT login through the kind's login check. Returns the
 * login verdict (for `doctor --json`), or `undefined` when the kind has no login check.
 */
export async function targetFindings(
  ctx: CommandContext,
  kind: StrategyKind,
  json: Record<string, unknown>,
  currentText: string,
  env: Record<string, string> | undefined,
  state: SecretState,
  options: TargetCheckOptions,
  findings: Finding[],
): Promise<LoginVerdict | undefined> {
  policyFinding(ctx, kind, env, state, findings);
  await reachFindings(ctx, kind, json, env, state, options, findings);
  if (!canTryLogins(kind)) return undefined;
  const verdict = await options.prober.login(
    kind,
    currentText,
    env ?? {},
    options.connectTimeoutMs,
  );
  loginFinding(ctx, state, verdict, findings);
  return verdict;
}
