import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import {
  ROTATION_STEPS,
  type RotationEvent,
  type RotationStep,
} from '../../shared/engine/types.js';
import type { CloudTrail } from './cloudtrail.js';
import type { RotationJob, RotationRecord } from './model.js';
import { redactValues } from './redaction.js';
import type { SecretsStore } from './store.js';

/** A rotation function as Lambda would run it: the handler of a rotation Lambda. */
export type RotationFunction = (event: RotationEvent, context: Context) => Promise<unknown>;

/** Rotation functions by function name or full function ARN. */
export type RotationRegistry = Map<string, RotationFunction>;

/** A structured log line; never carries secret values. */
export type LocalLogger = (entry: Record<string, unknown>) => void;

const LAMBDA_ARN =
  /^arn:aws[\w-]*:lambda:([\w-]+):(\d{12}):function:([A-Za-z0-9_-]+)(?::([\w$-]+))?$/;

/** A function resolved from `RotationLambdaARN`. */
export interface ResolvedFunction {
  fn: RotationFunction;
  name: string;
  arn: string;
}

/**
 * Resolves `RotationLambdaARN` (`arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]`)
 * or a bare function name through the registry: the full ARN first, then the name.
 */
export function resolveRotationFunction(
  registry: RotationRegistry,
  arnOrName: string,
  defaults: { region: string; accountId: string },
): ResolvedFunction | undefined {
  const match = LAMBDA_ARN.exec(arnOrName);
  const name = match ? (match[3] as string) : arnOrName;
  const arn = match
    ? arnOrName
    : `arn:aws:lambda:${defaults.region}:${defaults.accountId}:function:${name}`;
  const fn = registry.get(arnOrName) ?? registry.get(name);
  return fn ? { fn, name, arn } : undefined;
}

/** A RotationToken: 36–256 characters of `[a-zA-Z0-9-]` (API `RotationTokenType`). */
export function newRotationToken(): string {
  return `${randomUUID()}-${randomBytes(12).toString('hex')}`;
}

/** Options of {@link RotationRunner}. */
export interface RotationRunnerOptions {
  store: SecretsStore;
  registry: () => RotationRegistry;
  /** Makes the store's current state durable. */
  persist: () => Promise<void>;
  region: string;
  accountId: string;
  /** Lambda timeout per step, in ms (default 30 000, Lambda's default for rotation functions). */
  functionTimeoutMs?: number;
  log?: LocalLogger;
  /** The audit trail the rotation events go to (started, failed, succeeded). */
  trail?: CloudTrail;
}

class StepTimeout extends Error {
  constructor(ms: number) {
    // Lambda's own wording for a timed-out invocation.
    super(`Task timed out after ${(ms / 1000).toFixed(2)} seconds`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs rotations in the background, as the service does after RotateSecret returns:
 * createSecret, setSecret, testSecret, finishSecret in order (or only testSecret for
 * RotateImmediately=false), each invocation synchronous and bounded by the function timeout.
 * The first failing step ends the attempt and leaves the rotation pending.
 */
export class RotationRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly options: RotationRunnerOptions) {
    this.timeoutMs = options.functionTimeoutMs ?? 30_000;
  }

  /** True while a job runs for this secret ARN. */
  isRunning(arn: string): boolean {
    return this.running.has(arn);
  }

  /** True when the registry resolves this function. */
  functionExists(arnOrName: string): boolean {
    return this.resolve(arnOrName) !== undefined;
  }

  private resolve(arnOrName: string): ResolvedFunction | undefined {
    return resolveRotationFunction(this.options.registry(), arnOrName, this.options);
  }

  /**
   * Starts a job in the background, after `gate` settles (e.g. the write that made its
   * AWSPENDING version durable) and never in the caller's turn of the event loop. The job
   * counts as running from now on, so `settled()` waits for it.
   */
  start(job: RotationJob, gate: Promise<unknown> = Promise.resolve()): void {
    if (this.closed || this.running.has(job.arn)) return;
    const done = gate
      .catch(() => undefined)
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.run(job))
      .catch((error: unknown) => {
        this.options.log?.({
          level: 'error',
          msg: 'rotation runner failed',
          error: (error as Error).name,
        });
      })
      .finally(() => this.running.delete(job.arn));
    this.running.set(job.arn, done);
  }

  /** Resolves when no rotation is running (including ones started while waiting). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Waits for the running job of a secret, then returns its latest rotation record. */
  async waitFor(arn: string): Promise<RotationRecord | undefined> {
    while (this.running.has(arn)) await this.running.get(arn);
    return this.options.store.find(arn)?.rotation;
  }

  /** Stops starting steps; running invocations cannot be interrupted and are ignored. */
  close(): void {
    this.closed = true;
  }

  private async run(job: RotationJob): Promise<void> {
    const { store, persist, log } = this.options;
    const steps: readonly RotationStep[] = job.mode === 'test' ? ['testSecret'] : ROTATION_STEPS;
    const rotationToken = newRotationToken();
    const resolved = this.resolve(job.functionArn);
    this.options.trail?.observe(store.find(job.arn));
    log?.({
      level: 'info',
      msg: 'rotation started',
      secretArn: job.arn,
      versionId: job.versionId,
      mode: job.mode,
    });
    for (const step of steps) {
      if (this.closed || !store.rotationIsLive(job.arn, job.versionId)) {
        log?.({
          level: 'info',
          msg: 'rotation stopped',
          secretArn: job.arn,
          versionId: job.versionId,
        });
        return;
      }
      store.rotationStep(job.arn, job.versionId, step);
      // So that after a crash the state file tells which step was running.
      await this.persistQuietly(persist);
      try {
        if (!resolved) throw new Error(`Function ${job.functionArn} is not in the local registry`);
        await this.invoke(resolved, {
          Step: step,
          SecretId: job.arn,
          ClientRequestToken: job.versionId,
          RotationToken: rotationToken,
        });
      } catch (error) {
        if (this.closed) return;
        const err = error as { name?: unknown; message?: unknown };
        // The event's RotationToken is a credential too; the store redacts secret values.
        const message = redactValues(
          `${String(err?.name ?? 'Error')}: ${String(err?.message ?? error)}`,
          [rotationToken],
        );
        store.rotationFailed(job.arn, job.versionId, step, message);
        this.options.trail?.observe(store.find(job.arn));
        // The function's message is recorded for operators but not logged: it is foreign text.
        log?.({
          level: 'warn',
          msg: 'rotation step failed',
          secretArn: job.arn,
          versionId: job.versionId,
          step,
          errorType: String(err?.name ?? 'Error'),
        });
        await this.persistQuietly(persist);
        return;
      }
    }
    if (this.closed) return;
    store.rotationSucceeded(job.arn, job.versionId);
    this.options.trail?.observe(store.find(job.arn));
    log?.({
      level: 'info',
      msg: 'rotation ended',
      secretArn: job.arn,
      versionId: job.versionId,
      state: store.find(job.arn)?.rotation?.state,
    });
    await this.persistQuietly(persist);
  }

  private async persistQuietly(persist: () => Promise<void>): Promise<void> {
    try {
      await persist();
    } catch (error) {
      this.options.log?.({
        level: 'error',
        msg: 'could not persist rotation state',
        error: (error as Error).name,
      });
    }
  }

  private async invoke(resolved: ResolvedFunction, event: RotationEvent): Promise<void> {
    const deadline = performance.now() + this.timeoutMs;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: resolved.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: resolved.arn,
      memoryLimitInMB: '128',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${resolved.name}`,
      logStreamName: `local/${requestId}`,
      getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - performance.now())),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    // Lambda hands the function a deserialised copy of the JSON payload.
    const payload = JSON.parse(JSON.stringify(event)) as RotationEvent;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StepTimeout(this.timeoutMs)), this.timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(() => resolved.fn(payload, context)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
