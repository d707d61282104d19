import {
  BatchGetSecretValueCommand,
  type BatchGetSecretValueCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { RotationStep } from '../../shared/engine/types.js';
import type { CredentialKind } from '../../shared/kinds/CredentialKind.js';
import type { Connector, DatabaseSession } from '../../shared/strategies/database/driver.js';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
import {
  type InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from './inMemorySecretsManager.js';
import { STEPS } from './rotationRig.js';

/**
 * How an external call fails in a crash-matrix case:
 * - `throw`: the call fails before it takes effect (a reset connection, a refused request)
 *   and the function sees the error; it may handle it, or the step fails.
 * - `kill-after`: the call takes effect at the server, then the process dies before it
 *   learns the result (a killed Lambda). Nothing else of that invocation reaches the outside.
 *
 * A kill *before* call k leaves the world exactly as a kill after call k-1 does (the
 * effects of calls 0..k-1 landed, nothing else), and a kill before a step's first call is an
 * invocation that never ran, so `kill-after` covers the process dying before a call too.
 */
export type FaultMode = 'throw' | 'kill-after';

/** Both fault modes, in report order. */
export const FAULT_MODES: readonly FaultMode[] = ['throw', 'kill-after'];

/** One case of the matrix: the `index`-th external call of the first invocation of `step`. */
export interface Fault {
  readonly step: RotationStep;
  readonly index: number;
  readonly mode: FaultMode;
}

/** What a call of a killed process gets: the process is gone, nothing reaches the outside. */
export class ProcessKilledError extends Error {
  constructor() {
    super('injected crash: the process was killed');
    this.name = 'ProcessKilledError';
  }
}

/** A Secrets Manager secret the function's client can reach, named for call labels. */
export interface SecretTarget {
  readonly sm: InMemorySecretsManager;
  /** Prefix in call labels, e.g. `admin secret` ('' for the rotated secret). */
  readonly label: string;
}

/** Replaces each name (a random user name) by its placeholder, longest first. */
function withPlaceholders(text: string, names: Readonly<Record<string, string>>): string {
  let out = text;
  for (const name of Object.keys(names).sort((a, b) => b.length - a.length)) {
    out = out.split(name).join(names[name] as string);
  }
  return out;
}

/** A statement for a call label: literals elided (they hold verifiers and hashes), one line. */
function statementLabel(sql: string, names: Readonly<Record<string, string>>): string {
  const text = withPlaceholders(sql, names)
    .replace(/'(?:[^']|'')*'/g, "'…'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 64 ? `${text.slice(0, 63)}…` : text;
}

/**
 * One invocation of the rotation function, as a process of its own (a cold container):
 * every external call it makes (each Secrets Manager command, each database connect and
 * statement, each HTTP request) goes through it, is numbered in order, and the one the
 * fault names fails. After a `kill-after` fault every later call of this process throws
 * {@link ProcessKilledError} and its open database sessions are closed, as the OS would.
 */
export class FunctionProcess {
  /** Labels of the calls made so far, in order (the call index is the position). */
  readonly calls: string[] = [];
  readonly #fault: { index: number; mode: FaultMode } | undefined;
  readonly #names: Readonly<Record<string, string>>;
  readonly #rotated: InMemorySecretsManager | undefined;
  readonly #sessions = new Set<DatabaseSession>();
  #dead = false;
  #fired = false;

  constructor(
    options: {
      fault?: { index: number; mode: FaultMode };
      names?: Readonly<Record<string, string>>;
      /** The rotated secret: connects are labelled with the stages holding their password. */
      rotated?: InMemorySecretsManager;
    } = {},
  ) {
    this.#fault = options.fault;
    this.#names = options.names ?? {};
    this.#rotated = options.rotated;
  }

  /** The stages of the rotated secret whose value holds `password`, for a connect's label. */
  #holders(password: string): string {
    const stages: string[] = [];
    for (const version of this.#rotated?.versions.values() ?? []) {
      if (version.value === undefined) continue;
      try {
        if ((JSON.parse(version.value) as { password?: unknown }).password === password) {
          stages.push(...version.stages);
        }
      } catch {
        // Not JSON: holds no password field.
      }
    }
    return stages.length > 0 ? ` (${stages.join('+')})` : '';
  }

  /** Whether the fault was injected (its call was reached). */
  get fired(): boolean {
    return this.#fired;
  }

  /** Whether the process was killed. */
  get killed(): boolean {
    return this.#dead;
  }

  async #call<T>(
    label: string,
    effect: () => Promise<T>,
    injected: () => Error,
    discard: (result: T) => Promise<void> = async () => {},
  ): Promise<T> {
    if (this.#dead) throw new ProcessKilledError();
    const index = this.calls.length;
    this.calls.push(label);
    const fault = this.#fault?.index === index ? this.#fault : undefined;
    if (fault) this.#fired = true;
    if (fault?.mode === 'throw') throw injected();
    if (fault?.mode !== 'kill-after') return effect();
    // The call reaches the server whatever it answers (a ResourceNotFoundException too);
    // then the process dies without seeing the answer.
    this.#dead = true;
    const result = await effect().then(
      (value) => ({ value }),
      () => undefined,
    );
    if (result) await discard(result.value);
    await Promise.all([...this.#sessions].map((session) => session.close()));
    throw new ProcessKilledError();
  }

  /**
   * A Secrets Manager client over `targets`, routing each command by its `SecretId` (the
   * first target takes commands for any other id), so an admin secret and the rotated
   * secret are reached through one client, as in production.
   */
  secretsManager(targets: readonly SecretTarget[]): SecretsManagerClient {
    const [first] = targets;
    if (!first) throw new Error('secretsManager needs at least one target');
    return new Proxy(first.sm.client, {
      get: (client, property, receiver) => {
        if (property !== 'send') return Reflect.get(client, property, receiver);
        return (command: { input: Record<string, unknown> }, options?: unknown) => {
          const input = command.input;
          if (Array.isArray(input.SecretIdList)) {
            return this.#call(
              'BatchGetSecretValue',
              () => batchAcross(targets, input.SecretIdList as string[]),
              requestFault,
            );
          }
          const target = targets.find((t) => t.sm.arn === input.SecretId) ?? first;
          const name = command.constructor.name.replace(/Command$/, '');
          let detail = '';
          if (typeof input.VersionStage === 'string' && name === 'GetSecretValue') {
            detail = `(${input.VersionStage})`;
          } else if (typeof input.VersionId === 'string') {
            const stages = [...(target.sm.versions.get(input.VersionId)?.stages ?? [])];
            detail = `(version ${stages.join('+') || 'unlabelled'})`;
          }
          const label = `${target.label ? `${target.label}: ` : ''}${name}${detail}`;
          return this.#call(
            label,
            () =>
              (target.sm.client.send as (c: unknown, o?: unknown) => Promise<unknown>)(
                command,
                options,
              ),
            requestFault,
          );
        };
      },
    });
  }

  /** `connect`, with each connect and each statement of its sessions counted as a call. */
  connector(connect: Connector): Connector {
    return async (target, options) => {
      const session = await this.#call(
        `connect as ${withPlaceholders(target.username, this.#names)}${this.#holders(target.password)}`,
        () => connect(target, options),
        () =>
          new DatabaseConnectionError(
            `injected fault: connection to ${target.host}:${target.port} reset`,
            'ECONNRESET',
          ),
        (opened) => opened.close(),
      );
      this.#sessions.add(session);
      return {
        query: <Row>(sql: string, params?: readonly unknown[]) =>
          this.#call(
            statementLabel(sql, this.#names),
            () => session.query<Row>(sql, params),
            () =>
              Object.assign(new Error('injected fault: connection reset during the statement'), {
                code: 'ECONNRESET',
              }),
          ),
        close: async () => {
          this.#sessions.delete(session);
          await session.close();
        },
      };
    };
  }

  /** `fetch`, each request counted as a call. */
  fetch(impl: typeof fetch = fetch): typeof fetch {
    return (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const path = url.pathname.replace(/\/key_[^/]+$/, '/{id}');
      return this.#call(
        `HTTP ${init?.method ?? 'GET'} ${path}`,
        () => impl(input, init),
        () =>
          new TypeError('fetch failed', {
            cause: Object.assign(new Error('injected fault: socket hang up'), {
              code: 'ECONNRESET',
            }),
          }),
        async (response) => {
          await response.body?.cancel();
        },
      );
    };
  }
}

/** Runs one step as Secrets Manager invokes the function. */
export type StepRunner = (step: RotationStep, token: string) => Promise<void>;

/**
 * The real engine as a freshly started function builds it: `rotationHandler(kind)` with a
 * client whose calls go through `process` (the first target is the rotated secret), no
 * version cache shared with other processes, fast Secrets Manager retries.
 */
export function handlerRunner(
  kind: CredentialKind,
  process: FunctionProcess,
  targets: readonly SecretTarget[],
  env: NodeJS.ProcessEnv,
): StepRunner {
  const [rotated] = targets;
  if (!rotated) throw new Error('handlerRunner needs the rotated secret as first target');
  const handler = rotationHandler(kind, {
    client: process.secretsManager(targets),
    env,
    cache: null,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  return async (step, token) => {
    await handler(rotationEvent(step, rotated.sm.arn, token), lambdaContext());
  };
}

/** One prepared case: a fresh target (new users or keys) and the secret rotating it. */
export interface CrashSubject {
  /** The rotated secret. */
  readonly sm: InMemorySecretsManager;
  /** Random names replaced by placeholders in call labels (`{ [username]: '<user>' }`). */
  readonly names: Readonly<Record<string, string>>;
  /** The function as a newly started process builds it, its external calls through `process`. */
  start(process: FunctionProcess): StepRunner;
  /**
   * Whether the credential in `secretString` logs in right now, per account of the target
   * it names: `user` for PostgreSQL, `user@host` for each MySQL/MariaDB account of the user
   * (none when the user does not exist), the key id for API keys.
   */
  logins(secretString: string): Promise<ReadonlyMap<string, boolean>>;
}

/** The error an injected Secrets Manager fault throws, as the SDK would (a client fault). */
const requestFault = () =>
  Object.assign(new Error('injected fault: the request failed'), {
    name: 'InjectedFaultException',
    $fault: 'client',
  });

/**
 * One BatchGetSecretValue over several fakes, as the service answers it: each id is asked of
 * the fake holding it (the first target takes any other), the answers merged.
 */
async function batchAcross(
  targets: readonly SecretTarget[],
  ids: readonly string[],
): Promise<BatchGetSecretValueCommandOutput> {
  const [first] = targets;
  const holder = (id: string) => targets.find((t) => t.sm.arn === id) ?? first;
  const parts = await Promise.all(
    targets.map((target) => {
      const mine = ids.filter((id) => holder(id) === target);
      return mine.length === 0
        ? undefined
        : target.sm.client.send(new BatchGetSecretValueCommand({ SecretIdList: mine }));
    }),
  );
  return {
    $metadata: {},
    SecretValues: parts.flatMap((part) => part?.SecretValues ?? []),
    Errors: parts.flatMap((part) => part?.Errors ?? []),
  };
}

/** Longer than any step takes here (well under a second); shorter than the step's abort. */
const STEP_HANG_MS = 10_000;

/** A new process for one invocation on `subject`, failing at `fault` if given. */
function processFor(subject: CrashSubject, fault?: Fault): FunctionProcess {
  return new FunctionProcess({
    names: subject.names,
    rotated: subject.sm,
    ...(fault ? { fault: { index: fault.index, mode: fault.mode } } : {}),
  });
}

/** A whole rotation without faults, each step in a process of its own; returns the token. */
export async function rotateCleanly(subject: CrashSubject): Promise<string> {
  const token = subject.sm.startRotation();
  for (const step of STEPS) {
    await subject.start(processFor(subject))(step, token);
  }
  return token;
}

/** A kind and mode under test, and what its rotation promises. */
export interface CrashKind {
  /** e.g. `PostgreSQL alternating-users`. */
  readonly name: string;
  /**
   * True where AWSPREVIOUS keeps logging in until the next rotation (alternating users, API
   * keys with overlap): AWSCURRENT then logs in at every moment. False for single-user,
   * where one user has one password: setSecret replaces it, so AWSCURRENT is dead until
   * finishSecret and AWSPREVIOUS is dead after it (ROTATION-PROTOCOL.md §5 #9; the kinds
   * declare overlap 'none').
   */
  readonly overlap: boolean;
  /**
   * From this step on, mid-rotation, AWSPREVIOUS may be refused: a provider that holds two
   * keys revokes the AWSPREVIOUS key in createSecret to free the slot for the new one. After
   * the rotation the new AWSPREVIOUS must still log in as `overlap` says.
   */
  readonly previousRetiredFrom?: RotationStep;
  /**
   * The steps whose calls are cases (default: all four). A variant that differs from
   * another only in some steps enumerates only those, to spend the time where the calls
   * differ.
   */
  readonly steps?: readonly RotationStep[];
  /** A fresh subject for one case, already rotated cleanly as often as the case needs. */
  prepare(): Promise<CrashSubject>;
  /** Further checks after the rotation converged (e.g. no orphaned provider keys). */
  finalChecks?(subject: CrashSubject): Promise<string[]>;
}

/** One external call of a clean rotation. */
export interface RecordedCall {
  readonly step: RotationStep;
  readonly index: number;
  readonly label: string;
}

/** Records every external call of a clean rotation, numbered per step. */
export async function recordRotation(kind: CrashKind): Promise<RecordedCall[]> {
  const subject = await kind.prepare();
  const token = subject.sm.startRotation();
  const calls: RecordedCall[] = [];
  for (const step of STEPS) {
    const process = processFor(subject);
    await subject.start(process)(step, token);
    for (const [index, label] of process.calls.entries()) calls.push({ step, index, label });
  }
  const problems = await convergedChecks(kind, subject, token);
  if (problems.length > 0)
    throw new Error(`clean rotation of ${kind.name}: ${problems.join('; ')}`);
  return calls;
}

/** What one case did. */
export interface CaseResult {
  /** `throw` only: the function handled the failed call and the step still succeeded. */
  readonly absorbed: boolean;
  /** Every broken promise: empty when the case passed. */
  readonly problems: string[];
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * One case: a fresh rotation in which `fault` hits; the failed step is retried in a new
 * process (as Secrets Manager retries a failed invocation), then the remaining steps run.
 * Checks that no credential was lost right after the fault and that the rotation
 * converged with every labelled value logging in as the kind promises.
 */
export async function runCrashCase(kind: CrashKind, fault: Fault): Promise<CaseResult> {
  try {
    return await crashCase(kind, fault);
  } catch (error) {
    // A set-up or check that throws fails this case only, with the reason.
    return { absorbed: false, problems: [`case aborted: ${describeError(error)}`] };
  }
}

async function crashCase(kind: CrashKind, fault: Fault): Promise<CaseResult> {
  const subject = await kind.prepare();
  const token = subject.sm.startRotation();
  const problems: string[] = [];
  let absorbed = false;
  const invoke = async (step: RotationStep, withFault?: Fault) => {
    const process = processFor(subject, withFault);
    const started = performance.now();
    const error = await subject
      .start(process)(step, token)
      .then(
        () => undefined,
        (e: unknown) => e ?? new Error('rejected without an error'),
      );
    // Converging is not enough: a step that fails only at the step's abort (about the
    // Lambda timeout) leaves a rotation stuck for that long on every attempt.
    const ms = performance.now() - started;
    if (ms > STEP_HANG_MS) {
      problems.push(`${step} took ${Math.round(ms)} ms: it ran until the step's abort`);
    }
    return { process, error };
  };
  for (const step of STEPS) {
    if (step !== fault.step) {
      const { error } = await invoke(step);
      if (error !== undefined) {
        problems.push(`did not converge: ${step} failed: ${describeError(error)}`);
        return { absorbed, problems };
      }
      continue;
    }
    const { process, error } = await invoke(step, fault);
    if (!process.fired) {
      problems.push(
        `call ${fault.index} of ${step} was not reached (the calls differ between runs)`,
      );
      return { absorbed, problems };
    }
    // A killed invocation failed, whatever its code did after the kill.
    const failed = process.killed || error !== undefined;
    absorbed = !failed;
    problems.push(...(await heldChecks(kind, subject, token, step)));
    if (failed) {
      const retry = await invoke(step);
      if (retry.error !== undefined) {
        problems.push(
          `did not converge: the retried ${step} failed: ${describeError(retry.error)}`,
        );
        return { absorbed, problems };
      }
    }
  }
  problems.push(...(await convergedChecks(kind, subject, token)));
  problems.push(...((await kind.finalChecks?.(subject)) ?? []));
  return { absorbed, problems };
}

/** The labelled values of the secret: AWSCURRENT, AWSPREVIOUS, and the token's (AWSPENDING). */
function labelledValues(subject: CrashSubject, token: string): Array<[string, string]> {
  const pendingVersion = subject.sm.versions.get(token);
  const labelled: Array<[string, string | undefined]> = [
    ['AWSCURRENT', subject.sm.valueOf('AWSCURRENT')],
    ['AWSPREVIOUS', subject.sm.valueOf('AWSPREVIOUS')],
    ['AWSPENDING', pendingVersion?.stages.has('AWSPENDING') ? pendingVersion.value : undefined],
  ];
  return labelled.filter((entry): entry is [string, string] => entry[1] !== undefined);
}

/** The logins of each labelled value (one look-up per distinct value). */
async function loginsByStage(
  subject: CrashSubject,
  token: string,
): Promise<Map<string, ReadonlyMap<string, boolean>>> {
  const byValue = new Map<string, ReadonlyMap<string, boolean>>();
  const byStage = new Map<string, ReadonlyMap<string, boolean>>();
  for (const [stage, value] of labelledValues(subject, token)) {
    let logins = byValue.get(value);
    if (!logins) {
      logins = await subject.logins(value);
      byValue.set(value, logins);
    }
    byStage.set(stage, logins);
  }
  return byStage;
}

/** A value logs in when every account it names accepts it (and it names one at least). */
const logsIn = (logins: ReadonlyMap<string, boolean> | undefined) =>
  logins !== undefined && logins.size > 0 && [...logins.values()].every(Boolean);

/**
 * Right after the fault, before any retry. No credential is lost: every account a labelled
 * value names accepts one of the labelled values (an account only AWSPENDING names, before
 * setSecret has run, may not exist yet; one only AWSPREVIOUS names may be retired, see
 * {@link CrashKind.previousRetiredFrom}). With overlap AWSCURRENT logs in throughout; once
 * setSecret has run, AWSPENDING logs in.
 */
async function heldChecks(
  kind: CrashKind,
  subject: CrashSubject,
  token: string,
  faultStep: RotationStep,
): Promise<string[]> {
  const setSecretDone = STEPS.indexOf(faultStep) > STEPS.indexOf('setSecret');
  const previousRetired =
    kind.previousRetiredFrom !== undefined &&
    STEPS.indexOf(faultStep) >= STEPS.indexOf(kind.previousRetiredFrom);
  const problems: string[] = [];
  const byStage = await loginsByStage(subject, token);
  if (kind.overlap && !logsIn(byStage.get('AWSCURRENT'))) {
    problems.push('after the fault: AWSCURRENT does not log in');
  }
  if (setSecretDone && byStage.has('AWSPENDING') && !logsIn(byStage.get('AWSPENDING'))) {
    problems.push('after the fault: AWSPENDING does not log in although setSecret has run');
  }
  const holders = new Map<string, Array<[string, boolean]>>();
  for (const [stage, logins] of byStage) {
    for (const [account, works] of logins) {
      holders.set(account, [...(holders.get(account) ?? []), [stage, works]]);
    }
  }
  for (const [account, stages] of holders) {
    const only = stages.length === 1 ? stages[0]?.[0] : undefined;
    if (!setSecretDone && only === 'AWSPENDING') continue;
    if (previousRetired && only === 'AWSPREVIOUS') continue;
    if (!stages.some(([, works]) => works)) {
      problems.push(
        `after the fault: credential LOST for ${withPlaceholders(account, subject.names)}: none of ${stages.map(([stage]) => stage).join(', ')} logs in`,
      );
    }
  }
  return problems;
}

/**
 * After the retried rotation: AWSCURRENT is the token's version and logs in, as does
 * AWSPENDING where it still labels a version; AWSPREVIOUS logs in with overlap and is
 * refused without (single-user: its password was replaced, exactly as the protocol says).
 */
async function convergedChecks(
  kind: CrashKind,
  subject: CrashSubject,
  token: string,
): Promise<string[]> {
  const problems: string[] = [];
  if (subject.sm.versionWith('AWSCURRENT') !== token) {
    problems.push('did not converge: AWSCURRENT is not on the token');
    return problems;
  }
  const byStage = await loginsByStage(subject, token);
  if (!logsIn(byStage.get('AWSCURRENT'))) problems.push('AWSCURRENT does not log in');
  if (byStage.has('AWSPENDING') && !logsIn(byStage.get('AWSPENDING'))) {
    problems.push('AWSPENDING does not log in');
  }
  const previous = byStage.get('AWSPREVIOUS');
  if (previous === undefined) {
    problems.push('no AWSPREVIOUS after the rotation');
  } else if (kind.overlap && !logsIn(previous)) {
    problems.push(
      'AWSPREVIOUS does not log in (the kind promises overlap until the next rotation)',
    );
  } else if (!kind.overlap && [...previous.values()].some(Boolean)) {
    problems.push(
      'AWSPREVIOUS still logs in after a single-user rotation (its password should be replaced)',
    );
  }
  return problems;
}

/** One row of the printed matrix: a call and the outcome of each fault mode. */
interface ReportRow {
  readonly call: RecordedCall;
  readonly outcomes: Partial<Record<FaultMode, string>>;
}

/** Collects the matrix of every kind and prints it, with its size per kind, mode and in total. */
export class CrashMatrixReport {
  readonly #kinds = new Map<string, ReportRow[]>();

  /** Registers the calls of a kind (once, after recording). */
  calls(kind: string, calls: readonly RecordedCall[]): void {
    if (!this.#kinds.has(kind))
      this.#kinds.set(
        kind,
        calls.map((call) => ({ call, outcomes: {} })),
      );
  }

  /** Records the outcome of one case. */
  outcome(kind: string, fault: Fault, result: CaseResult): void {
    const row = this.#kinds
      .get(kind)
      ?.find((r) => r.call.step === fault.step && r.call.index === fault.index);
    if (!row) return;
    row.outcomes[fault.mode] =
      result.problems.length > 0
        ? `FAILED: ${result.problems.join('; ')}`
        : result.absorbed
          ? 'ok (absorbed)'
          : 'ok';
  }

  /** The matrix as text: every case, then the sizes. */
  render(): string {
    const lines: string[] = [];
    let total = 0;
    let failed = 0;
    const perMode: Record<FaultMode, number> = { throw: 0, 'kill-after': 0 };
    const sizes: string[] = [];
    for (const [kind, rows] of this.#kinds) {
      const ran = FAULT_MODES.map((mode) => rows.filter((r) => r.outcomes[mode]).length);
      const cases = ran.reduce((a, b) => a + b, 0);
      total += cases;
      FAULT_MODES.forEach((mode, i) => {
        perMode[mode] += ran[i] ?? 0;
      });
      sizes.push(
        `  ${kind}: ${rows.length} calls; ${FAULT_MODES.map((m, i) => `${m} ${ran[i]}`).join(', ')}; ${cases} cases`,
      );
      lines.push(`${kind} (${rows.length} external calls):`);
      for (const { call, outcomes } of rows) {
        const cells = FAULT_MODES.map((mode) => `${mode}: ${outcomes[mode] ?? 'not run'}`);
        failed += FAULT_MODES.filter((mode) => outcomes[mode]?.startsWith('FAILED')).length;
        lines.push(
          `  ${call.step.padEnd(12)} #${String(call.index).padEnd(3)} ${call.label.padEnd(66)} ${cells.join(' | ')}`,
        );
      }
    }
    return [
      'Crash matrix: every external call of every step, failing (throw) and killing the process after it took effect (kill-after)',
      ...lines,
      'Matrix size:',
      ...sizes,
      `  total: ${total} cases (${FAULT_MODES.map((m) => `${m} ${perMode[m]}`).join(', ')}); failed: ${failed}`,
    ].join('\n');
  }
}
