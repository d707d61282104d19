import { type ParseArgsConfig, parseArgs } from 'node:util';
import { scrubError } from '../shared/logging/redaction.js';
import { doctorCommand } from './commands/doctor.js';
import { fleetCommand } from './commands/fleet.js';
import { reconcileCommand } from './commands/reconcile.js';
import { rollbackCommand } from './commands/rollback.js';
import { rotateCommand } from './commands/rotate.js';
import { rotateManyCommand } from './commands/rotateMany.js';
import { parseWindow, scheduleSpreadCommand } from './commands/schedule.js';
import { statusCommand } from './commands/status.js';
import { unstickCommand } from './commands/unstick.js';
import { type CommandContext, createContext, type GlobalOptions } from './lib/context.js';
import { OperatorError, UsageError } from './lib/errors.js';
import { type Output, processOutput } from './lib/output.js';
import { networkProber, type Prober } from './lib/probe.js';
import {
  SECRET_FILTER_OPTIONS,
  type SecretFilterOptions,
  secretFilters,
} from './lib/secretFilters.js';

/** The usage text of `rotator --help`. */
export const USAGE = `Usage: rotator <command> [options]

Operate secret rotation in AWS Secrets Manager (or the local twin: npm start).

Commands:
  rotate <secret> [--wait]     start a rotation now; --wait follows the four steps to the end;
                               --check runs doctor first and does not rotate on an error
  rotate --all [filters] | rotate <secret> <secret>...
                               rotate many: --concurrency, one at a time per database host or
                               provider (--per-target), --stop-on-failure, a summary at the end
  status [<secret>...]         rotation-enabled secrets: rotator, schedule, last/next, versions
  doctor <secret>              what blocks or endangers rotation, each with the fixing command
  unstick <secret> [--apply]   resolve a rotation left pending (probes the stored logins)
  rollback <secret>            move AWSCURRENT back to AWSPREVIOUS if the previous login works
  reconcile <secret> [--apply] sync targets (Parameter Store, S3) not holding AWSCURRENT,
                               repaired with --apply; API keys: provider keys neither
                               current, previous nor pending
  fleet [filters] [--html f]   every rotation-configured secret: kind, schedule, state, target,
                               admin; exit 1 when one is overdue or failing; an HTML report
  schedule --spread [filters]  propose schedules so that no two secrets of one database host or
                               provider share a rotation window; --apply sets them

Global options:
  --endpoint-url <url>   Secrets Manager endpoint (else AWS_ENDPOINT_URL_SECRETS_MANAGER,
                         SECRETS_MANAGER_ENDPOINT, AWS_ENDPOINT_URL; else AWS)
  --region <region>      AWS Region (else AWS_REGION / the profile's region)
  --profile <name>       named profile from ~/.aws/config and ~/.aws/credentials
  --json                 machine-readable output on stdout
  --no-color             no ANSI colours (also NO_COLOR; colour is only used on a TTY)
  -h, --help             this help

Command options:
  rotate:   --wait  --check  --timeout <seconds> (300)  --poll-ms <ms> (2000)
            many: --all  --name-prefix <p>  --tag-key <k>  --tag-value <v> (repeatable)
                  --concurrency <n> (4)  --per-target <n> (1)  --stop-on-failure
                  --rate <RotateSecret calls/s> (20; the service allows 50)
  status:   --all   (every secret, not only rotation-enabled ones)
  doctor:   --connect-timeout-ms <ms> (3000)
  unstick:  --apply  --connect-timeout-ms <ms> (5000)
  rollback: --dry-run  --connect-timeout-ms <ms> (5000)
  reconcile: --apply  --max-key-age-days <days>  --label-prefix <prefix> (rotator-; "" for every key)
  fleet:    --name-prefix <p>  --tag-key <k>  --tag-value <v> (repeatable)  --html <file>
  schedule: --spread  --window <hours>h (3h)  --max-per-window <n> (4)  --apply  (filters as fleet)

Exit codes: 0 success; 1 failure, refusal, or a finding that blocks rotation; 2 usage error.
Secret values are never printed.`;

const GLOBAL_OPTIONS = {
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean', default: false },
  'no-color': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

const COMMAND_OPTIONS = {
  rotate: {
    ...SECRET_FILTER_OPTIONS,
    all: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    'per-target': { type: 'string' },
    'stop-on-failure': { type: 'boolean', default: false },
    rate: { type: 'string' },
    wait: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    'connect-timeout-ms': { type: 'string' },
    timeout: { type: 'string' },
    'poll-ms': { type: 'string' },
  },
  status: { all: { type: 'boolean', default: false } },
  doctor: { 'connect-timeout-ms': { type: 'string' } },
  unstick: { apply: { type: 'boolean', default: false }, 'connect-timeout-ms': { type: 'string' } },
  rollback: {
    'dry-run': { type: 'boolean', default: false },
    'connect-timeout-ms': { type: 'string' },
  },
  fleet: { ...SECRET_FILTER_OPTIONS, html: { type: 'string' } },
  schedule: {
    ...SECRET_FILTER_OPTIONS,
    spread: { type: 'boolean', default: false },
    window: { type: 'string' },
    'max-per-window': { type: 'string' },
    apply: { type: 'boolean', default: false },
  },
  reconcile: {
    apply: { type: 'boolean', default: false },
    'max-key-age-days': { type: 'string' },
    'label-prefix': { type: 'string' },
  },
} as const satisfies Record<string, ParseArgsConfig['options']>;

type CommandName = keyof typeof COMMAND_OPTIONS;

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMAND_OPTIONS, name);
}

/** A count such as a concurrency limit: 0 or a fraction would never start anything. */
function wholeNumberAtLeastOne(
  value: string | undefined,
  option: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${option} must be a whole number of at least 1`);
  }
  return n;
}

function positiveNumber(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${option} must be a positive number`);
  return n;
}

const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
]);

function endpointOf(argv: string[]): string {
  const i = argv.indexOf('--endpoint-url');
  const inline = argv.find((a) => a.startsWith('--endpoint-url='));
  const url = i >= 0 ? argv[i + 1] : inline?.slice('--endpoint-url='.length);
  return url ? ` ${url}` : '';
}

/** Hooks for tests that run the CLI in process. */
export interface MainDependencies {
  out?: Output;
  prober?: Prober;
  env?: NodeJS.ProcessEnv;
  /** Adjusts the context (e.g. a fake clock). */
  context?: (ctx: CommandContext) => CommandContext;
}

/**
 * Runs one CLI invocation and returns its exit code: 0 success; 1 failure, refusal or a
 * blocking finding; 2 usage error. Never throws.
 */
export async function main(argv: string[], deps: MainDependencies = {}): Promise<number> {
  let out = deps.out ?? processOutput();
  let json = argv.includes('--json');
  try {
    // First pass: find the command among the positionals (global options may come first).
    const first = parseArgs({
      args: argv,
      options: GLOBAL_OPTIONS,
      allowPositionals: true,
      strict: false,
    });
    const name = first.positionals[0];
    if (first.values.help === true || name === undefined || name === 'help') {
      out.line(USAGE);
      return name === undefined && first.values.help !== true ? 2 : 0;
    }
    if (!isCommand(name)) throw new UsageError(`unknown command "${name}"`);
    let parsed: { values: Record<string, unknown>; positionals: string[] };
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[name] } as ParseArgsConfig['options'],
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const args = parsed.positionals.slice(1);
    json = values.json === true;
    if (!deps.out) out = processOutput({ color: values['no-color'] !== true });
    const global: GlobalOptions = {
      ...(typeof values['endpoint-url'] === 'string'
        ? { endpointUrl: values['endpoint-url'] }
        : {}),
      ...(typeof values.region === 'string' ? { region: values.region } : {}),
      ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
      json,
      color: values['no-color'] !== true,
    };
    let ctx = createContext(global, out, deps.env ?? process.env);
    if (deps.context) ctx = deps.context(ctx);
    const prober = deps.prober ?? networkProber;
    const one = (): string => {
      const [secret, ...rest] = args;
      if (!secret) throw new UsageError(`${name} needs a secret name or ARN`);
      if (rest.length > 0) throw new UsageError(`${name} takes one secret, got ${args.length}`);
      return secret;
    };
    const str = (key: string) =>
      typeof values[key] === 'string' ? (values[key] as string) : undefined;
    switch (name) {
      case 'rotate':
        if (values.all === true || args.length > 1) {
          if (values.all === true && args.length > 0) {
            throw new UsageError('rotate --all takes filters, not secret names');
          }
          if (values.check === true) throw new UsageError('--check rotates one secret only');
          return await rotateManyCommand(ctx, {
            secrets: args,
            all: values.all === true,
            filters: secretFilters(values as SecretFilterOptions),
            concurrency: wholeNumberAtLeastOne(str('concurrency'), 'concurrency', 4),
            perTarget: wholeNumberAtLeastOne(str('per-target'), 'per-target', 1),
            stopOnFailure: values['stop-on-failure'] === true,
            wait: values.wait === true,
            timeoutMs: positiveNumber(str('timeout'), 'timeout', 300) * 1000,
            pollMs: positiveNumber(str('poll-ms'), 'poll-ms', 2000),
            ratePerSecond: Math.min(50, positiveNumber(str('rate'), 'rate', 20)),
          });
        }
        return await rotateCommand(ctx, {
          secret: one(),
          wait: values.wait === true,
          timeoutMs: positiveNumber(str('timeout'), 'timeout', 300) * 1000,
          pollMs: positiveNumber(str('poll-ms'), 'poll-ms', 2000),
          ...(values.check === true
            ? {
                check: {
                  prober,
                  connectTimeoutMs: positiveNumber(
                    str('connect-timeout-ms'),
                    'connect-timeout-ms',
                    3000,
                  ),
                },
              }
            : {}),
        });
      case 'fleet':
        if (args.length > 0) throw new UsageError('fleet takes filters, not secret names');
        return await fleetCommand(ctx, {
          filters: secretFilters(values as SecretFilterOptions),
          ...(str('html') ? { html: str('html') as string } : {}),
        });
      case 'schedule':
        if (values.spread !== true) throw new UsageError('schedule needs --spread');
        if (args.length > 0) throw new UsageError('schedule takes filters, not secret names');
        return await scheduleSpreadCommand(ctx, {
          filters: secretFilters(values as SecretFilterOptions),
          windowHours: parseWindow(str('window')),
          maxPerWindow: wholeNumberAtLeastOne(str('max-per-window'), 'max-per-window', 4),
          apply: values.apply === true,
        });
      case 'status':
        return await statusCommand(ctx, { secrets: args, all: values.all === true });
      case 'doctor':
        return await doctorCommand(ctx, {
          secret: one(),
          connectTimeoutMs: positiveNumber(str('connect-timeout-ms'), 'connect-timeout-ms', 3000),
          prober,
        });
      case 'unstick':
        return await unstickCommand(ctx, {
          secret: one(),
          apply: values.apply === true,
          connectTimeoutMs: positiveNumber(str('connect-timeout-ms'), 'connect-timeout-ms', 5000),
          prober,
        });
      case 'rollback':
        return await rollbackCommand(ctx, {
          secret: one(),
          dryRun: values['dry-run'] === true,
          connectTimeoutMs: positiveNumber(str('connect-timeout-ms'), 'connect-timeout-ms', 5000),
          prober,
        });
      case 'reconcile': {
        const maxAge = str('max-key-age-days');
        const labelPrefix = str('label-prefix');
        return await reconcileCommand(ctx, {
          secret: one(),
          ...(maxAge !== undefined
            ? { maxKeyAgeDays: positiveNumber(maxAge, 'max-key-age-days', 0) }
            : {}),
          ...(labelPrefix !== undefined ? { labelPrefix } : {}),
          apply: values.apply === true,
        });
      }
    }
  } catch (error) {
    scrubError(error);
    if (error instanceof UsageError) {
      out.error(`rotator: ${error.message}`);
      out.error('Run "rotator --help" for usage.');
      return 2;
    }
    const e = error as { name?: string; message?: string; fix?: string };
    const message =
      error instanceof OperatorError
        ? error.message
        : e?.name === 'CredentialsProviderError'
          ? `no AWS credentials found (${e.message}). Use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID.`
          : /Region is missing/i.test(e?.message ?? '')
            ? 'no AWS Region: pass --region or set AWS_REGION.'
            : NETWORK_ERRORS.has(String((error as { code?: unknown })?.code))
              ? `cannot reach the Secrets Manager endpoint${endpointOf(argv)} (${String((error as { code?: unknown }).code)}).`
              : `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`;
    const fix = error instanceof OperatorError ? error.fix : undefined;
    if (json) out.json({ error: message, ...(fix ? { fix } : {}) });
    else {
      out.error(out.style.red(`rotator: ${message}`));
      if (fix) out.error(`  fix: ${fix}`);
    }
    return 1;
  }
}
