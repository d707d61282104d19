import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager } from '../../local/secrets-manager/index.js';
import type { RotationEvent } from '../../shared/engine/types.js';

/** One step run by a built bundle in a process of its own. */
export interface BundleStepResult {
  ok: boolean;
  /** The process's peak resident set size, KiB (`process.resourceUsage().maxRSS`). */
  maxRssKiB: number;
  /** Wall time from spawn to exit, milliseconds. */
  ms: number;
  stderr: string;
}

/**
 * Runs `handler(event)` of the bundle at `bundle` in a new Node process, as a cold Lambda
 * container would (with `--enable-source-maps`, as the template sets `NODE_OPTIONS`). The
 * child prints its peak RSS; a thrown step makes `ok` false.
 */
export function runBundleStep(
  bundle: string,
  event: RotationEvent,
  env: NodeJS.ProcessEnv,
  options: { sourceMaps?: boolean } = {},
): Promise<BundleStepResult> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawnBundle(bundle, env, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', () => {
      const answer = /^(OK|ERR) (\d+)$/m.exec(stdout);
      resolve({
        ok: answer?.[1] === 'OK',
        maxRssKiB: answer ? Number(answer[2]) : Number.NaN,
        ms: performance.now() - start,
        stderr,
      });
    });
    child.stdin.end(`${JSON.stringify(event)}\n`);
  });
}

/**
 * A Node process that loads `bundle` and runs its handler for every JSON event line on
 * stdin, answering `OK <maxRSS KiB>` or `ERR <maxRSS KiB>` per event; it exits when stdin
 * ends. One event = a cold container; several = a warm one.
 */
function spawnBundle(bundle: string, env: NodeJS.ProcessEnv, options: { sourceMaps?: boolean }) {
  const script = `
const { handler } = require(${JSON.stringify(bundle)});
const answer = (word) => process.stdout.write(word + ' ' + process.resourceUsage().maxRSS + '\\n');
const context = () => { const deadline = Date.now() + 30000; return { functionName: 'rotator-bundle',
  functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotator-bundle',
  memoryLimitInMB: '256', awsRequestId: require('node:crypto').randomUUID(),
  logGroupName: '/aws/lambda/rotator-bundle', logStreamName: 'bundle',
  callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => deadline - Date.now() }; };
const lines = require('node:readline').createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => { queue = queue.then(() => handler(JSON.parse(line), context()).then(() => answer('OK'), () => answer('ERR'))); });
lines.on('close', () => queue.then(() => process.exit(0)));`;
  const args = [...(options.sourceMaps === false ? [] : ['--enable-source-maps']), '-e', script];
  return spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The line the bundle process answers each step with: outcome and peak RSS (KiB). */
const ANSWER = /^(OK|ERR) (\d+)$/;

/** One process kept across steps (a warm container); see {@link spawnBundle}. */
class WarmBundle {
  readonly #child: ReturnType<typeof spawnBundle>;
  #stdout = '';
  #stderr = '';
  #waiting: ((line: string) => void) | undefined;

  constructor(bundle: string, env: NodeJS.ProcessEnv) {
    this.#child = spawnBundle(bundle, env, {});
    this.#child.stdout.on('data', (d: Buffer) => {
      this.#stdout += d.toString();
      // The function's own stdout lines (EMF metrics) come first: only an answer line counts.
      for (let newline = this.#stdout.indexOf('\n'); newline >= 0; ) {
        const line = this.#stdout.slice(0, newline);
        this.#stdout = this.#stdout.slice(newline + 1);
        newline = this.#stdout.indexOf('\n');
        if (!ANSWER.test(line) || !this.#waiting) continue;
        const waiting = this.#waiting;
        this.#waiting = undefined;
        waiting(line);
      }
    });
    this.#child.stderr.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
  }

  step(event: RotationEvent): Promise<BundleStepResult> {
    const start = performance.now();
    const stderrBefore = this.#stderr.length;
    return new Promise((resolve) => {
      this.#waiting = (line) => {
        const answer = ANSWER.exec(line);
        resolve({
          ok: answer?.[1] === 'OK',
          maxRssKiB: answer ? Number(answer[2]) : Number.NaN,
          ms: performance.now() - start,
          stderr: this.#stderr.slice(stderrBefore),
        });
      };
      this.#child.stdin.write(`${JSON.stringify(event)}\n`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.on('exit', () => resolve());
      this.#child.stdin.end();
    });
  }
}

/** A counting HTTP proxy in front of a Secrets Manager endpoint. */
export interface CountingProxy {
  readonly endpoint: string;
  /** Calls per operation (`X-Amz-Target` without the service prefix) since the last reset. */
  counts(): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Forwards every request to `target` and counts it by operation: the Secrets Manager calls
 * of processes that are not ours to instrument (a bundle run by {@link runBundleStep}).
 */
export async function countingProxy(target: string): Promise<CountingProxy> {
  let counts: Record<string, number> = {};
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^.*\./, '');
    counts[operation] = (counts[operation] ?? 0) + 1;
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What one rotation through {@link BundleTwin.rotate} cost. */
export interface BundleRotation {
  state: string | undefined;
  /** Secrets Manager calls per step, every step in a process of its own. */
  callsPerStep: Record<string, number>;
  /** The largest peak RSS of the step processes (per-rotation: of the one process), KiB. */
  maxRssKiB: number;
  /** stderr of failed steps. */
  errors: string[];
}

/** The local twin, a counting proxy, and functions that run built bundles cold per step. */
export interface BundleTwin {
  readonly client: SecretsManagerClient;
  readonly functionArn: (name: string) => string;
  /** RotateSecret with `functionName`, waiting for the end. */
  rotate(secretArn: string, functionName: string): Promise<BundleRotation>;
  close(): Promise<void>;
}

/**
 * Starts the local Secrets Manager twin whose rotation functions are the bundles in
 * `bundles` (function name → index.js), run with `env` and the twin's endpoint (through a
 * {@link countingProxy}): each step in a new process ({@link runBundleStep}, `per-step`, the
 * default: cold containers), or the four steps of a rotation in one (`per-rotation`: a warm
 * container; its peak RSS is the rotation's).
 */
export async function startBundleTwin(
  bundles: Record<string, string>,
  env: NodeJS.ProcessEnv,
  options: { process?: 'per-step' | 'per-rotation' } = {},
): Promise<BundleTwin> {
  let proxy: CountingProxy | undefined;
  let current: BundleRotation | undefined;
  let warm: WarmBundle | undefined;
  const twin = await startLocalSecretsManager({
    port: 0,
    registry: async (endpoint) => {
      proxy = await countingProxy(endpoint.url);
      const childEnv = {
        PATH: process.env.PATH,
        AWS_REGION: endpoint.region,
        AWS_ACCESS_KEY_ID: 'AKIALOCALTWIN0000000',
        AWS_SECRET_ACCESS_KEY: 'local-twin-credentials-are-not-checked',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: proxy.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        ...env,
      };
      return new Map(
        Object.entries(bundles).map(([name, bundle]) => [
          name,
          async (event: RotationEvent) => {
            const before = proxy?.counts() ?? {};
            let result: BundleStepResult;
            if (options.process === 'per-rotation') {
              warm ??= new WarmBundle(bundle, childEnv);
              result = await warm.step(event);
            } else {
              result = await runBundleStep(bundle, event, childEnv);
            }
            const after = proxy?.counts() ?? {};
            if (current) {
              const calls = Object.entries(after).reduce(
                (sum, [op, n]) => sum + n - (before[op] ?? 0),
                0,
              );
              current.callsPerStep[event.Step] = (current.callsPerStep[event.Step] ?? 0) + calls;
              current.maxRssKiB = Math.max(current.maxRssKiB, result.maxRssKiB);
              if (!result.ok) current.errors.push(result.stderr);
            }
            if (!result.ok) throw new Error(`${event.Step} failed in the bundle process`);
          },
        ]),
      );
    },
  });
  const functionArn = (name: string) =>
    `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${name}`;
  const client = twin.newClient();
  return {
    client,
    functionArn,
    async rotate(secretArn, functionName) {
      current = { state: undefined, callsPerStep: {}, maxRssKiB: 0, errors: [] };
      await client.send(
        new RotateSecretCommand({
          SecretId: secretArn,
          RotationLambdaARN: functionArn(functionName),
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      const record = await twin.rotations.waitFor(secretArn);
      await warm?.close();
      warm = undefined;
      const result = { ...current, state: record?.state };
      current = undefined;
      return result;
    },
    async close() {
      await twin.close();
      await proxy?.close();
    },
  };
}
