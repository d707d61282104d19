import { shellQuote } from './output.js';

/** The global options a suggested command repeats; each is left out when unset. */
export interface GlobalFlags {
  endpointUrl?: string;
  region?: string;
  profile?: string;
}

/**
 * Which global options each kind of suggested command repeats, decided once per invocation
 * (in `createContext`) so that copying a printed command never sends the operator to another
 * endpoint, Region or account:
 * - `rotator`: the `--endpoint-url`, `--region` and `--profile` given on the command line
 *   (`npx rotator` reads the same environment variables itself);
 * - `secretsmanager`: the Secrets Manager endpoint in effect, whatever set it (the AWS CLI
 *   does not read `SECRETS_MANAGER_ENDPOINT`), and the Region when the CLI chose it itself
 *   (the twin's default);
 * - `lambda`: Region and profile, and an endpoint only when a Lambda endpoint is known
 *   (`AWS_ENDPOINT_URL_LAMBDA`): the Secrets Manager endpoint is never one for Lambda;
 * - `sam`: Region and profile (`sam deploy` has no endpoint option).
 */
export interface Suggestions {
  rotator: GlobalFlags;
  secretsmanager: GlobalFlags;
  lambda: GlobalFlags;
  sam: GlobalFlags;
}

/** What the helpers need from a command context. */
export interface SuggestContext {
  readonly suggest: Suggestions;
  /** True when the endpoint is not AWS (one twin serves several Regions). */
  readonly local: boolean;
}

/** A placeholder the operator replaces (`<function-arn>`): printed unquoted. */
const PLACEHOLDER = /^<[^<>\s]+>$/;

function render(words: string[]): string {
  return words.map((w) => (PLACEHOLDER.test(w) ? w : shellQuote(w))).join(' ');
}

function flagWords(flags: GlobalFlags): string[] {
  return [
    ...(flags.endpointUrl !== undefined ? ['--endpoint-url', flags.endpointUrl] : []),
    ...(flags.region !== undefined ? ['--region', flags.region] : []),
    ...(flags.profile !== undefined ? ['--profile', flags.profile] : []),
  ];
}

/**
 * An AWS CLI command with the global options that reach the same endpoint, Region and
 * profile as this invocation; every argument is shell-quoted (placeholders like
 * `<function-arn>` excepted).
 *
 * @example awsCommand(ctx, 'secretsmanager', 'restore-secret', '--secret-id', name)
 * // aws secretsmanager restore-secret --secret-id app/db --endpoint-url http://127.0.0.1:4599
 */
export function awsCommand(
  ctx: SuggestContext,
  service: 'secretsmanager' | 'lambda',
  ...args: string[]
): string {
  return render(['aws', service, ...args, ...flagWords(ctx.suggest[service])]);
}

/**
 * An `npx rotator` command repeating the global options given to this invocation. With
 * `region` (a replica's primary), an AWS endpoint URL is left out: it is Regional, whereas
 * a local endpoint serves every Region.
 */
export function rotatorCommand(
  ctx: SuggestContext,
  args: string[],
  options: { region?: string } = {},
): string {
  const given = ctx.suggest.rotator;
  const flags =
    options.region === undefined
      ? given
      : {
          ...(ctx.local && given.endpointUrl !== undefined
            ? { endpointUrl: given.endpointUrl }
            : {}),
          region: options.region,
          ...(given.profile !== undefined ? { profile: given.profile } : {}),
        };
  return `npx ${render(['rotator', ...args, ...flagWords(flags)])}`;
}

/** A `sam` command with the Region and profile of this invocation. */
export function samCommand(ctx: SuggestContext, ...args: string[]): string {
  return render(['sam', ...args, ...flagWords(ctx.suggest.sam)]);
}

/** Picks the defined entries: `GlobalFlags` without keys set to `undefined`. */
export function definedFlags(flags: GlobalFlags): GlobalFlags {
  return Object.fromEntries(
    Object.entries(flags).filter(([, v]) => v !== undefined),
  ) as GlobalFlags;
}
