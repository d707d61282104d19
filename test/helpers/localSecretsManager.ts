import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterEach } from 'vitest';
import {
  type LocalSecretsManager,
  type LocalSecretsManagerOptions,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import type { RotationEvent, RotationStep } from '../../shared/engine/types.js';

/** A random secret value; tests never use literal credentials. */
export function randomValue(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** A random JSON credential with a `password` field. */
export function randomCredential(): string {
  return JSON.stringify({
    username: `user_${randomBytes(4).toString('hex')}`,
    password: randomValue(),
  });
}

/** A unique secret name per test. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}/${randomBytes(6).toString('hex')}`;
}

/**
 * Starts twins for the calling test file and closes them after each test. Defaults: a free
 * port, in memory, no functions.
 */
export function useLocalSecretsManager(): (
  options?: LocalSecretsManagerOptions,
) => Promise<LocalSecretsManager> {
  const started: LocalSecretsManager[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((twin) => twin.close()));
  });
  return async (options = {}) => {
    const twin = await startLocalSecretsManager({ port: 0, ...options });
    started.push(twin);
    return twin;
  };
}

/**
 * Makes a fresh temporary directory per call; each is removed after the calling test. Call
 * it before {@link useLocalSecretsManager}: after-hooks run in reverse, so the twins close
 * (and stop writing) before their folders are removed.
 */
export function useTempDirs(prefix = 'rotator-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** One recorded invocation of a scripted rotation function. */
export interface RecordedInvocation {
  event: RotationEvent;
  context: Context;
  /** AWSPENDING/AWSCURRENT as DescribeSecret showed them when the step began. */
  stagesOfToken: string[];
  remainingMs: number;
}

/** Behaviour of {@link scriptedRotationFunction}. */
export interface ScriptOptions {
  /** The value createSecret stores (default: a random credential). */
  newValue?: () => string;
  /** Throw in this step (Error with this message). */
  failAt?: { step: RotationStep; message: string; times?: number };
  /** Block this step until `release()` is called. */
  blockAt?: RotationStep;
}

/**
 * A rotation function with the steps of AWS's template (createSecret puts AWSPENDING with the
 * event's token, finishSecret moves AWSCURRENT, never removes AWSPENDING), recording every
 * invocation. For tests of the twin's side of the protocol.
 */
export function scriptedRotationFunction(
  client: SecretsManagerClient,
  options: ScriptOptions = {},
) {
  const invocations: RecordedInvocation[] = [];
  let failuresLeft = options.failAt?.times ?? Number.POSITIVE_INFINITY;
  let release: () => void = () => undefined;
  let reached: () => void = () => undefined;
  const reachedBlock = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const fn = async (event: RotationEvent, context: Context): Promise<void> => {
    const described = await client.send(new DescribeSecretCommand({ SecretId: event.SecretId }));
    invocations.push({
      event,
      context,
      stagesOfToken: described.VersionIdsToStages?.[event.ClientRequestToken] ?? [],
      remainingMs: context.getRemainingTimeInMillis(),
    });
    if (options.blockAt === event.Step) {
      reached();
      await released;
    }
    if (options.failAt?.step === event.Step && failuresLeft > 0) {
      failuresLeft--;
      throw new Error(options.failAt.message);
    }
    if (event.Step === 'createSecret') {
      // Idempotent like AWS's template: a retried rotation keeps the value already stored.
      const exists = await client
        .send(
          new GetSecretValueCommand({
            SecretId: event.SecretId,
            VersionId: event.ClientRequestToken,
            VersionStage: 'AWSPENDING',
          }),
        )
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof ResourceNotFoundException) return false;
            throw error;
          },
        );
      if (exists) return;
      await client.send(
        new PutSecretValueCommand({
          SecretId: event.SecretId,
          ClientRequestToken: event.ClientRequestToken,
          SecretString: (options.newValue ?? randomCredential)(),
          VersionStages: ['AWSPENDING'],
          ...(event.RotationToken ? { RotationToken: event.RotationToken } : {}),
        }),
      );
    }
    if (event.Step === 'finishSecret') {
      const stages = described.VersionIdsToStages ?? {};
      const current = Object.keys(stages).find((id) => stages[id]?.includes('AWSCURRENT'));
      if (current === event.ClientRequestToken) return;
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: event.SecretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: event.ClientRequestToken,
          ...(current ? { RemoveFromVersionId: current } : {}),
        }),
      );
    }
  };
  return {
    fn,
    invocations,
    steps: () => invocations.map((i) => i.event.Step),
    /** Resolves when the blocking step has been reached. */
    reachedBlock,
    release: () => release(),
  };
}

/** The version id holding a label, from DescribeSecret's VersionIdsToStages. */
export function versionWith(
  stages: Record<string, string[]> | undefined,
  label: string,
): string | undefined {
  return Object.entries(stages ?? {}).find(([, s]) => s.includes(label))?.[0];
}

/** DescribeSecret over raw HTTP, to read the twin's extension field the SDK drops. */
export async function describeRaw(url: string, secretId: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'secretsmanager.DescribeSecret',
    },
    body: JSON.stringify({ SecretId: secretId }),
  });
  return (await response.json()) as Record<string, unknown>;
}

/** A twin running in a child process (`node --import tsx local/start.ts ...`). */
export interface ChildTwin {
  url: string;
  child: import('node:child_process').ChildProcess;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit signal or code. */
  exited: Promise<NodeJS.Signals | number | null>;
}

/**
 * Starts `local/start.ts` in a child process with `args` and waits for the
 * `LOCAL_SECRETS_MANAGER_URL=` line. Rejects (with the child's output) if it exits first.
 */
export async function spawnLocalTwin(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildTwin> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: new URL('../..', import.meta.url).pathname,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code));
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /LOCAL_SECRETS_MANAGER_URL=(\S+)/.exec(output);
      if (match) resolve(match[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((how) =>
      reject(new Error(`local twin exited (${String(how)}) before listening:\n${output}`)),
    );
  });
  return { url, child, output: () => output, exited };
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
