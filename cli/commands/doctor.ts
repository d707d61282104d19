import { GetFunctionConfigurationCommand, GetPolicyCommand } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { LoginVerdict } from '../../shared/kinds/CredentialKind.js';
import type { CommandContext } from '../lib/context.js';
import type { Finding, Severity } from '../lib/findings.js';
import { formatAge, shortId } from '../lib/output.js';
import type { Prober } from '../lib/probe.js';
import {
  functionName,
  loadSecretState,
  POSSIBLY_RUNNING_MS,
  parseJsonObject,
  readVersionValue,
  type SecretState,
} from '../lib/secretState.js';
import { classifySecret, fieldProblems, type StrategyKind } from '../lib/strategy.js';
import { awsCommand, rotatorCommand, samCommand } from '../lib/suggest.js';
import { policyFindings } from './policyFindings.js';
import { replicationFindings } from './replicationFindings.js';
import { targetFindings } from './targetFindings.js';

export type { Finding, Severity };

/** What `doctor --json` prints. */
export interface DoctorReport {
  secret: string;
  arn: string;
  strategy: StrategyKind;
  strategyBecause: string;
  findings: Finding[];
  /** The AWSCURRENT login verdict, for kinds the CLI can try (the same check as testSecret). */
  login?: LoginVerdict;
}

/** Options of {@link doctorCommand}. */
export interface DoctorOptions {
  secret: string;
  connectTimeoutMs: number;
  prober: Prober;
}

interface FunctionFacts {
  env: Record<string, string> | undefined;
}

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? 'Error';
}

async function lambdaFindings(
  ctx: CommandContext,
  state: SecretState,
  findings: Finding[],
): Promise<FunctionFacts> {
  const arn = state.rotationLambdaArn;
  if (!arn) return { env: undefined };
  if (!ctx.lambda) {
    findings.push({
      id: 'lambda-checks-skipped',
      severity: 'info',
      title:
        'Function checks skipped: the Secrets Manager endpoint is local, so there is no Lambda to ask.',
      detail:
        'The invoke permission and the function environment are checked against AWS only (set AWS_ENDPOINT_URL_LAMBDA for an emulator). Password policy: the defaults are assumed.',
    });
    return { env: undefined };
  }
  let env: Record<string, string> | undefined;
  try {
    const config = await ctx.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: arn }),
    );
    env = config.Environment?.Variables ?? {};
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      findings.push({
        id: 'function-missing',
        severity: 'error',
        title: `The rotation function ${functionName(arn)} does not exist.`,
        detail: `RotationLambdaARN is ${arn}. Every rotation fails until it names a function that exists in this account and Region.`,
        fix: `${samCommand(ctx, 'deploy')}   # or: ${awsCommand(ctx, 'secretsmanager', 'rotate-secret', '--secret-id', state.name, '--rotation-lambda-arn', '<existing-function-arn>', '--no-rotate-immediately')}`,
      });
      return { env: undefined };
    }
    findings.push({
      id: 'function-unreadable',
      severity: 'info',
      title: `Could not read the function's configuration (${errorName(error)}); password policy defaults are assumed.`,
    });
  }
  const addPermission = awsCommand(
    ctx,
    'lambda',
    'add-permission',
    '--function-name',
    arn,
    '--statement-id',
    'SecretsManagerAccess',
    '--action',
    'lambda:InvokeFunction',
    '--principal',
    'secretsmanager.amazonaws.com',
    '--source-account',
    arn.split(':')[4] ?? '<account-id>',
  );
  try {
    const { Policy } = await ctx.lambda.send(new GetPolicyCommand({ FunctionName: arn }));
    const statements =
      (JSON.parse(Policy ?? '{}') as { Statement?: PolicyStatement[] }).Statement ?? [];
    const grant = statements.find(
      (s) =>
        s.Effect === 'Allow' &&
        principals(s).includes('secretsmanager.amazonaws.com') &&
        actions(s).some((a) => a === 'lambda:InvokeFunction' || a === 'lambda:*'),
    );
    if (!grant) {
      findings.push({
        id: 'invoke-permission-missing',
        severity: 'error',
        title: 'Secrets Manager may not invoke the rotation function.',
        detail:
          'The function has a resource policy, but no statement lets secretsmanager.amazonaws.com call lambda:InvokeFunction; rotation fails with access denied.',
        fix: addPermission,
      });
    } else if (!/"aws:sourceaccount"/i.test(JSON.stringify(grant.Condition ?? {}))) {
      findings.push({
        id: 'invoke-permission-unscoped',
        severity: 'warning',
        title: 'The invoke permission has no SourceAccount condition.',
        detail:
          "Any account's Secrets Manager could ask the function to rotate (confused deputy). Scope it to your account.",
        fix: `${awsCommand(ctx, 'lambda', 'remove-permission', '--function-name', arn, '--statement-id', grant.Sid ?? '<sid>')} && ${addPermission}`,
      });
    } else {
      findings.push({
        id: 'invoke-permission',
        severity: 'ok',
        title: 'Secrets Manager may invoke the rotation function (scoped to the account).',
      });
    }
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      findings.push({
        id: 'invoke-permission-missing',
        severity: 'error',
        title: 'Secrets Manager may not invoke the rotation function.',
        detail: 'The function has no resource policy at all; rotation fails with access denied.',
        fix: addPermission,
      });
    } else {
      findings.push({
        id: 'invoke-permission-unknown',
        severity: 'info',
        title: `Could not read the function's resource policy (${errorName(error)}).`,
      });
    }
  }
  return { env };
}

interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: { Service?: string | string[] } | string;
  Action?: string | string[];
  Condition?: unknown;
}

function principals(s: PolicyStatement): string[] {
  if (typeof s.Principal === 'string') return [s.Principal];
  const service = s.Principal?.Service;
  return service === undefined ? [] : Array.isArray(service) ? service : [service];
}

function actions(s: PolicyStatement): string[] {
  return s.Action === undefined ? [] : Array.isArray(s.Action) ? s.Action : [s.Action];
}

/** `rotate-secret` configuring rotation to `functionArn`, without rotating now. */
function configureRotation(ctx: CommandContext, name: string, functionArn: string): string {
  return awsCommand(
    ctx,
    'secretsmanager',
    'rotate-secret',
    '--secret-id',
    name,
    '--rotation-lambda-arn',
    functionArn,
    '--rotation-rules',
    '{"ScheduleExpression":"rate(30 days)"}',
    '--no-rotate-immediately',
  );
}

function rotationFindings(ctx: CommandContext, state: SecretState, findings: Finding[]): void {
  const name = state.name;
  if (state.deletedDate) {
    findings.push({
      id: 'secret-deleted',
      severity: 'error',
      title: 'The secret is scheduled for deletion; it cannot rotate.',
      fix: awsCommand(ctx, 'secretsmanager', 'restore-secret', '--secret-id', name),
    });
  }
  if (!state.rotationLambdaArn) {
    findings.push({
      id: 'no-rotator',
      severity: 'error',
      title: 'No rotation function is configured.',
      detail:
        'Secrets Manager has nothing to invoke. Point the secret at the function deployed for its kind (template outputs *FunctionArn).',
      fix: configureRotation(ctx, name, '<function-arn>'),
    });
  }
  if (state.rotationEnabled !== true) {
    findings.push({
      id: 'rotation-disabled',
      severity: 'error',
      title: 'Rotation is disabled: the secret is never rotated on a schedule.',
      detail:
        'RotationEnabled is false (never configured, or turned off by CancelRotateSecret). A rotation function that finds rotation disabled refuses to run.',
      fix: configureRotation(ctx, name, state.rotationLambdaArn ?? '<function-arn>'),
    });
  } else {
    findings.push({
      id: 'rotation-enabled',
      severity: 'ok',
      title: `Rotation is enabled (rotator ${functionName(state.rotationLambdaArn)}).`,
    });
  }
  if (state.pending && state.pendingLeftBehind) {
    const record = state.local?.versionId === state.pending ? state.local : undefined;
    const created = state.created.get(state.pending);
    const age = created ? ` ${formatAge(ctx.now() - created.getTime())} ago` : '';
    const young =
      !state.local && created !== undefined && ctx.now() - created.getTime() < POSSIBLY_RUNNING_MS;
    if (young) {
      findings.push({
        id: 'rotation-maybe-running',
        severity: 'warning',
        title: `A rotation is pending on version ${shortId(state.pending)} (created${age}): it may still be running or being retried by Secrets Manager.`,
        detail: `Steps are not visible through the API. If it does not finish, the function's log group /aws/lambda/${functionName(state.rotationLambdaArn) ?? '<function>'} names the failing step; after an hour, doctor reports it as left behind.`,
        fix: rotatorCommand(ctx, ['rotate', name, '--wait']),
      });
    } else if (record?.state === 'InProgress') {
      findings.push({
        id: 'rotation-in-progress',
        severity: 'info',
        title: `A rotation is running (version ${shortId(state.pending)}${record.step ? `, at ${record.step}` : ''}).`,
        fix: rotatorCommand(ctx, ['rotate', name, '--wait']),
      });
    } else {
      const step = record?.step
        ? ` It failed at ${record.step}${record.message ? `: ${record.message}` : ''}.`
        : '';
      findings.push({
        id: 'pending-left-behind',
        severity: 'error',
        title: `A rotation was left pending: AWSPENDING is on version ${shortId(state.pending)} (created${age || ' at an unknown time'}).${step}`,
        detail:
          (record?.step
            ? ''
            : `Secrets Manager does not say which step failed: see the log group /aws/lambda/${functionName(state.rotationLambdaArn) ?? '<function>'} or CloudTrail RotationFailed events. `) +
          'Until it is resolved, RotateSecret answers "A previous rotation isn\'t complete" and scheduled rotations do not start. `unstick` tries each stored credential and proposes the safe fix. Do not just remove AWSPENDING: after a single-user setSecret the database already has the pending password, and clients reading AWSCURRENT would be locked out.',
        // Only unstick: the raw label removal is safe or fatal depending on which login the
        // target accepts, which unstick probes first.
        fix: rotatorCommand(ctx, ['unstick', name]),
      });
    }
  } else if (state.pending) {
    findings.push({
      id: 'pending-on-current',
      severity: 'info',
      title:
        'AWSPENDING sits on the AWSCURRENT version: a finished rotation (a valid end state; the next rotation moves it).',
    });
  }
}

async function adminSecretFinding(
  ctx: CommandContext,
  masterArn: string,
  findings: Finding[],
): Promise<void> {
  try {
    const admin = await ctx.sm.send(new DescribeSecretCommand({ SecretId: masterArn }));
    findings.push({
      id: 'admin-secret',
      severity: 'ok',
      title: `The admin secret ${admin.Name ?? masterArn} (masterarn) exists.`,
    });
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      findings.push({
        id: 'admin-secret-missing',
        severity: 'error',
        title: `The admin secret named by masterarn does not exist: ${masterArn}.`,
        detail:
          'Alternating-users rotation logs in as the admin to create or update the other user; setSecret fails without it.',
        fix: `point masterarn at the admin secret's ARN (${awsCommand(ctx, 'secretsmanager', 'describe-secret', '--secret-id', '<admin-secret>', '--query', 'ARN')}), and list it in the rotating function's stack parameter <Function>AdminSecretArns (e.g. PostgresAdminSecretArns)`,
      });
      return;
    }
    findings.push({
      id: 'admin-secret-unknown',
      severity: 'info',
      title: `Could not read the admin secret named by masterarn (${errorName(error)}).`,
    });
  }
}

/**
 * `doctor <secret>`: checks what blocks or endangers rotation and explains each finding in
 * plain language with the command that fixes it. Exit 1 when any finding is an error.
 */
export async function doctorCommand(ctx: CommandContext, options: DoctorOptions): Promise<number> {
  const report = await diagnose(ctx, options);
  const failed = report.findings.some((f) => f.severity === 'error');
  if (ctx.json) ctx.out.json(report);
  else renderFindings(ctx, report);
  return failed ? 1 : 0;
}

/**
 * Runs every check of `doctor` and returns the findings without printing them (used by
 * `doctor` and by `rotate --check`).
 */
export async function diagnose(ctx: CommandContext, options: DoctorOptions): Promise<DoctorReport> {
  const state = await loadSecretState(ctx, options.secret);
  const findings: Finding[] = [];
  const replica = replicationFindings(ctx, state, findings);
  if (!replica) rotationFindings(ctx, state, findings);
  const { env } = replica ? { env: undefined } : await lambdaFindings(ctx, state, findings);
  await policyFindings(ctx, state, findings);
  const currentText = state.current
    ? await readVersionValue(ctx, state.arn, state.current)
    : undefined;
  const json = parseJsonObject(currentText);
  const { kind, because } = classifySecret(json, state.rotationLambdaArn);
  let login: LoginVerdict | undefined;
  const putValue = awsCommand(
    ctx,
    'secretsmanager',
    'put-secret-value',
    '--secret-id',
    state.name,
    '--secret-string',
    'file://secret.json',
  );
  if (state.current === undefined || currentText === undefined) {
    findings.push({
      id: 'no-current-value',
      severity: 'error',
      title: 'The secret has no AWSCURRENT value to rotate from.',
      fix: putValue,
    });
  } else if (!json) {
    findings.push({
      id: 'value-not-json',
      severity: kind === 'unknown' ? 'warning' : 'error',
      title: 'The AWSCURRENT value is not a JSON object; every rotator here reads JSON.',
      fix: `${putValue}   # a JSON object with the fields of its kind`,
    });
  } else if (kind === 'unknown') {
    findings.push({
      id: 'strategy-unknown',
      severity: 'warning',
      title: `Cannot tell which kind of credential this is (${because}); field checks skipped.`,
    });
  } else {
    const problems = fieldProblems(kind, json, env ?? {});
    const errors = problems.filter((p) => p.severity === 'error');
    const warnings = problems.filter((p) => p.severity === 'warning');
    if (errors.length > 0) {
      findings.push({
        id: 'fields-missing',
        severity: 'error',
        title: `The AWSCURRENT value lacks what the ${kind} rotator needs: ${errors.map((p) => `${p.field} ${p.problem}`).join(', ')}.`,
        detail:
          'createSecret copies the current value and fails on a missing field ("Key is missing from secret JSON" in AWS\'s functions).',
        fix: `${putValue}   # every existing field plus ${errors.map((p) => p.field).join(', ')}`,
      });
    }
    for (const w of warnings) {
      findings.push({
        id: `field-${w.field}`,
        severity: 'warning',
        title: `The AWSCURRENT value's ${w.field} ${w.problem}; the ${kind} function assumes its default.`,
      });
    }
    if (problems.length === 0)
      findings.push({
        id: 'fields',
        severity: 'ok',
        title: `The value has every field the ${kind} rotator needs (${because}).`,
      });
    if (typeof json.masterarn === 'string') await adminSecretFinding(ctx, json.masterarn, findings);
    login = await targetFindings(ctx, kind, json, currentText, env, state, options, findings);
  }
  return {
    secret: state.name,
    arn: state.arn,
    strategy: kind,
    strategyBecause: because,
    findings,
    ...(login ? { login } : {}),
  };
}

/**
 * Prints a report for a terminal: errors first, each with its detail and fix. A fix already
 * printed for an earlier finding (e.g. configuring rotation fixes both "no rotator" and
 * "rotation disabled") is not printed again; `--json` keeps every finding's own fix.
 */
export function renderFindings(ctx: CommandContext, report: DoctorReport, only?: Severity[]): void {
  const { style } = ctx.out;
  const { findings } = report;
  const failed = findings.some((f) => f.severity === 'error');
  ctx.out.line(
    `${style.bold(report.secret)}  ${style.dim(`${report.strategy} (${report.strategyBecause})`)}`,
  );
  const icon: Record<Severity, string> = {
    error: style.red('✗'),
    warning: style.yellow('!'),
    info: style.dim('i'),
    ok: style.green('✓'),
  };
  const order: Severity[] = ['error', 'warning', 'info', 'ok'];
  const printed = new Set<string>();
  for (const f of [...findings]
    .filter((f) => !only || only.includes(f.severity))
    .sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity))) {
    ctx.out.line(`${icon[f.severity]} ${f.title}`);
    if (f.detail) ctx.out.line(`    ${style.dim(f.detail)}`);
    if (f.fix && printed.has(f.fix)) ctx.out.line(`    fix: ${style.dim('the one above')}`);
    else if (f.fix) ctx.out.line(`    fix: ${style.cyan(f.fix)}`);
    if (f.fix) printed.add(f.fix);
  }
  const counts = order
    .map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`)
    .join(', ');
  ctx.out.line(
    failed
      ? style.red(`Rotation is blocked or will fail (${counts}).`)
      : `No blocking problem found (${counts}).`,
  );
}
