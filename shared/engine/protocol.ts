import type { Logger } from '@aws-lambda-powertools/logger';
import { RotationStateError, SecretFormatError } from '../errors.js';
import { checkFreezeWindows, type FreezeSources } from '../governance/freezeCheck.js';
import type { SecretRegistry } from '../logging/redaction.js';
import type { PasswordSource } from '../secrets/PasswordSource.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type SecretDescription,
  type SecretsGateway,
  type VersionValue,
} from '../secrets/SecretsGateway.js';
import type { TargetWriterLoader } from '../sync/loadWriter.js';
import { parseSyncTargets, type SyncTarget } from '../sync/targets.js';
import { RequestFactory, versionWithStage } from './requests.js';
import { syncAfterPromotion } from './targetSync.js';
import type { RotationEvent, RotationStep, RotationStrategy } from './types.js';

/** Everything one step needs; built per invocation by the handler. */
export interface StepContext {
  event: RotationEvent;
  strategy: RotationStrategy;
  gateway: SecretsGateway;
  passwords: PasswordSource;
  registry: SecretRegistry;
  logger: Logger;
  signal: AbortSignal;
  /** Freeze windows besides the secret's own tag (stack-wide parameter, clock). */
  freeze?: FreezeSources;
  /** Writes the secret's sync targets (shared/sync/); clients are built only if it has some. */
  targets?: TargetWriterLoader;
}

/** What a step did, for the completion log line and tests. */
export type StepOutcome =
  | 'already-current'
  | 'created'
  | 'pending-existed'
  | 'concurrent-create-won'
  | 'applied'
  | 'verified'
  | 'promoted'
  | 'promotion-hook-rerun'
  | 'targets-synced';

/** Largest `SecretString` (characters) and `SecretBinary` (bytes) Secrets Manager stores. */
const MAX_SECRET_VALUE = 65_536;

/**
 * The strategy's new value, in the encoding of the secret's current one (a binary secret
 * stays binary: strategies see and return its bytes as base64). Names the limit, never the
 * value.
 */
function pendingValue(strategy: string, text: unknown, binary: boolean): VersionValue {
  if (binary) {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'base64') : undefined;
    if (
      typeof text !== 'string' ||
      bytes === undefined ||
      bytes.toString('base64') !== text ||
      bytes.length === 0 ||
      bytes.length > MAX_SECRET_VALUE
    ) {
      throw new SecretFormatError(
        'SecretBinary',
        `from strategy ${strategy} must be base64 of 1 to ${MAX_SECRET_VALUE} bytes`,
      );
    }
    return { text, binary };
  }
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_SECRET_VALUE) {
    throw new SecretFormatError(
      'SecretString',
      `from strategy ${strategy} must be 1 to ${MAX_SECRET_VALUE} characters`,
    );
  }
  return { text, binary };
}

/** Whether a version other than `token` holds AWSPENDING (a newer rotation started). */
function pendingElsewhere(description: SecretDescription, token: string): boolean {
  for (const [id, stages] of description.versions) {
    if (id !== token && stages.includes(AWSPENDING)) return true;
  }
  return false;
}

/**
 * Runs one step of the rotation protocol. Every step that changes something starts with
 * `DescribeSecret` and enforces the service's rules (AWS's reference functions): rotation
 * enabled, the token a version of the secret, a token already `AWSCURRENT` is a no-op, a
 * token not `AWSPENDING` is an error. testSecret, which only reads, and setSecret of a
 * strategy that names companion secrets, in a container that has not read the pending
 * value yet, get the same token checks from one read of the pending value (see
 * {@link runFromPendingRead}) and fall back to this path when it finds nothing.
 */
export async function runRotationStep(ctx: StepContext): Promise<StepOutcome> {
  const { event, gateway, signal } = ctx;
  if (
    event.Step === 'testSecret' ||
    (event.Step === 'setSecret' &&
      ctx.strategy.companionSecrets !== undefined &&
      !gateway.hasCachedVersion(event.SecretId, event.ClientRequestToken))
  ) {
    try {
      const outcome = await runFromPendingRead(ctx);
      if (outcome !== undefined) return outcome;
    } finally {
      gateway.clearPrefetched();
    }
  }
  const description = await gateway.describe(event.SecretId, signal);
  // Absent is tolerated, as AWS's functions do; only an explicit false stops us.
  if (description.rotationEnabled === false) {
    throw new RotationStateError(`Secret ${description.arn} does not have rotation enabled`);
  }
  const stages = description.versions.get(event.ClientRequestToken);
  if (!stages) {
    throw new RotationStateError(
      `Secret version ${event.ClientRequestToken} has no stage for rotation of secret ${description.arn}`,
    );
  }
  // Parsed at every step that describes, so a malformed tag fails createSecret, before
  // anything changes, rather than finishSecret after the promotion.
  const targets = parseSyncTargets(description.tags);
  const requests = new RequestFactory(ctx, description);
  if (stages.includes(AWSCURRENT)) {
    // A crash (or a failed target) after the label moved lands here on retry: the sync
    // completes without moving labels again.
    const synced =
      event.Step === 'finishSecret' &&
      (await syncAfterPromotion(ctx, description.arn, targets, () => requests.pending().pending()));
    if (event.Step === 'finishSecret' && ctx.strategy.afterPromotion) {
      // A crash after the label moved but before the hook finished lands here on retry;
      // the hook is idempotent, so running it again completes the step. Not once a newer
      // rotation holds AWSPENDING: the target now carries its pending credential, which a
      // clean-up judged by this rotation's labels would remove.
      if (!pendingElsewhere(description, event.ClientRequestToken)) {
        await ctx.strategy.afterPromotion(requests.pending());
        return 'promotion-hook-rerun';
      }
      ctx.logger.warn(
        'Version is already AWSCURRENT and a newer rotation holds AWSPENDING: not re-running the promotion hook',
      );
    }
    if (synced) return 'targets-synced';
    ctx.logger.info('Version is already AWSCURRENT: nothing to do', { outcome: 'already-current' });
    return 'already-current';
  }
  if (!stages.includes(AWSPENDING)) {
    throw new RotationStateError(
      `Secret version ${event.ClientRequestToken} is not set as AWSPENDING for rotation of secret ${description.arn}`,
    );
  }
  return STEPS[event.Step](ctx, description, requests, targets);
}

/**
 * testSecret and setSecret without `DescribeSecret`: `GetSecretValue(VersionId=token,
 * VersionStage=AWSPENDING)` answers with the value only when the token is a version of the
 * secret holding `AWSPENDING` (the service's rule for the two parameters together), and
 * its `VersionStages` show whether the token is already `AWSCURRENT` (a no-op, as on the
 * DescribeSecret path). The current value is then read by its label, with the secrets the
 * strategy names ({@link RotationStrategy.companionSecrets}) in the same call: setSecret
 * makes two calls instead of four. When the read finds nothing (no such version, no value
 * yet, or not `AWSPENDING`) this returns `undefined` and the step takes the DescribeSecret
 * path, whose checks then decide.
 *
 * Not checked here: `RotationEnabled`. Hence only for strategies with companion secrets
 * (an admin), which only alternating users declare: their setSecret changes the user the
 * application does not use, so one applied after rotation was turned off leaves the
 * AWSCURRENT credential working; single-user rotation, whose setSecret can change the
 * credential in use, keeps the check.
 * The deployed role may also read a secret only while its rotation is enabled with this
 * function (`secretsmanager:resource/AllowRotationLambdaArn` in template.yaml).
 */
async function runFromPendingRead(ctx: StepContext): Promise<StepOutcome | undefined> {
  const { event, gateway, signal } = ctx;
  const token = event.ClientRequestToken;
  const read = await gateway.getPendingVersion(event.SecretId, token, signal);
  if (read === undefined) return undefined;
  ctx.registry.registerValue(read.value);
  if (read.stages.includes(AWSCURRENT)) {
    ctx.logger.info('Version is already AWSCURRENT: nothing to do', { outcome: 'already-current' });
    return 'already-current';
  }
  // Labels of other versions (previous()) are read only if the strategy asks.
  const labels: SecretDescription = {
    arn: read.arn,
    name: read.arn,
    rotationEnabled: undefined,
    versions: new Map([[token, read.stages]]),
    tags: new Map(),
  };
  const companions = event.Step === 'setSecret' ? companionsOf(ctx.strategy, read.value) : [];
  const requests = new RequestFactory(
    ctx,
    labels,
    new Map([[token, Promise.resolve(read.value)]]),
    {
      describe: () => gateway.describe(read.arn, signal),
      readCurrent: () => gateway.getCurrentVersion(read.arn, companions, signal),
    },
  );
  return STEPS[event.Step](ctx, labels, requests, []);
}

/** The strategy's companion secrets for `pending`; none when it cannot tell. */
function companionsOf(strategy: RotationStrategy, pending: VersionValue): readonly string[] {
  if (!strategy.companionSecrets || pending.binary) return [];
  try {
    return strategy.companionSecrets(pending.text);
  } catch {
    // The strategy's own parse in apply reports a bad value, with its field.
    return [];
  }
}

type StepRunner = (
  ctx: StepContext,
  description: SecretDescription,
  requests: RequestFactory,
  targets: readonly SyncTarget[],
) => Promise<StepOutcome>;

/** createSecret: store a new value under the token, labelled AWSPENDING, exactly once. */
async function createPendingVersion(
  ctx: StepContext,
  description: SecretDescription,
  requests: RequestFactory,
): Promise<StepOutcome> {
  const { event, gateway, signal, logger } = ctx;
  // A read, started beside the freeze check (whose admin-secret lookup is a call of its
  // own in alternating-users mode), so that lookup costs no round trip on its own.
  const pending = gateway.getVersion(description.arn, event.ClientRequestToken, signal);
  pending.catch(() => {});
  // Before anything is written: a refusal inside a freeze window changes nothing.
  await checkFreezeWindows(
    {
      description,
      current: () => requests.generate().current(),
      describe: (secretId) => gateway.describe(secretId, signal),
      warn: (message, fields) => logger.warn(message, fields),
    },
    ctx.freeze,
  );
  const existing = await pending;
  if (existing !== undefined) {
    logger.info('Pending version already has a value: keeping it', { outcome: 'pending-existed' });
    return 'pending-existed';
  }
  const generated = await ctx.strategy.generatePending(requests.generate());
  const value = pendingValue(ctx.strategy.name, generated, await requests.currentIsBinary());
  ctx.registry.registerValue(value);
  const stored = await gateway.putPendingValue(description.arn, event.ClientRequestToken, value, {
    ...(event.RotationToken ? { rotationToken: event.RotationToken } : {}),
    signal,
  });
  if (stored === 'exists') {
    // Same token, different value: an earlier or concurrent attempt stored first. Theirs
    // is the pending value; re-read it so later steps and the registry agree on it.
    const winner = await gateway.getVersion(description.arn, event.ClientRequestToken, signal);
    if (winner === undefined) {
      throw new RotationStateError(
        `Secret version ${event.ClientRequestToken} exists but has no value after a concurrent createSecret`,
      );
    }
    logger.warn('Another attempt stored the pending value first: keeping theirs', {
      outcome: 'concurrent-create-won',
    });
    return 'concurrent-create-won';
  }
  logger.info('Stored new pending version', { outcome: 'created' });
  return 'created';
}

/** setSecret: make the pending value valid at its target. */
async function applyPendingVersion(
  ctx: StepContext,
  _description: SecretDescription,
  requests: RequestFactory,
): Promise<StepOutcome> {
  await ctx.strategy.apply(requests.pending());
  ctx.logger.info('Applied pending value to its target', { outcome: 'applied' });
  return 'applied';
}

/** testSecret: prove the pending value works. */
async function verifyPendingVersion(
  ctx: StepContext,
  _description: SecretDescription,
  requests: RequestFactory,
): Promise<StepOutcome> {
  await ctx.strategy.verify(requests.pending({ fallBackToCurrent: true }));
  ctx.logger.info('Pending value verified', { outcome: 'verified' });
  return 'verified';
}

/**
 * finishSecret: move AWSCURRENT to the token (AWSPREVIOUS follows), then write the sync
 * targets (so a target never holds a value that is not yet AWSCURRENT), then the strategy's
 * hook (after the copies, so a clean-up never strands an application reading a copy).
 */
async function promotePendingVersion(
  ctx: StepContext,
  description: SecretDescription,
  requests: RequestFactory,
  targets: readonly SyncTarget[],
): Promise<StepOutcome> {
  const currentVersionId = versionWithStage(description, AWSCURRENT);
  try {
    await ctx.gateway.promotePendingVersion(
      description.arn,
      ctx.event.ClientRequestToken,
      currentVersionId,
      ctx.signal,
    );
  } catch (error) {
    // The move is not idempotent: when an attempt took effect but its response was lost,
    // the retried call is refused (RemoveFromVersionId no longer holds AWSCURRENT). The
    // labels tell whether the move is done.
    const now = await ctx.gateway.describe(description.arn, ctx.signal).catch(() => undefined);
    if (!now?.versions.get(ctx.event.ClientRequestToken)?.includes(AWSCURRENT)) throw error;
    ctx.logger.warn('UpdateSecretVersionStage failed, but AWSCURRENT is on the new version', {
      errorName: (error as { name?: string })?.name,
    });
  }
  ctx.logger.info('Moved AWSCURRENT to the new version', {
    outcome: 'promoted',
    previousVersionId: currentVersionId,
  });
  await syncAfterPromotion(ctx, description.arn, targets, () => requests.pending().pending());
  if (ctx.strategy.afterPromotion) {
    // The hook sees the labels as they are now, the same view a retried finishSecret gets.
    const promoted = requests.withDescription(
      promotedView(description, ctx.event.ClientRequestToken),
    );
    await ctx.strategy.afterPromotion(promoted.pending());
  }
  return 'promoted';
}

/** The labels after `UpdateSecretVersionStage` moved AWSCURRENT to `token`. */
function promotedView(description: SecretDescription, token: string): SecretDescription {
  const oldCurrent = versionWithStage(description, AWSCURRENT);
  const versions = new Map<string, readonly string[]>();
  for (const [id, stages] of description.versions) {
    const kept = stages.filter((s) => s !== AWSCURRENT && s !== AWSPREVIOUS);
    if (id === token) kept.push(AWSCURRENT);
    if (id === oldCurrent) kept.push(AWSPREVIOUS);
    if (kept.length > 0) versions.set(id, kept);
  }
  return { ...description, versions };
}

const STEPS: Record<RotationStep, StepRunner> = {
  createSecret: createPendingVersion,
  setSecret: applyPendingVersion,
  testSecret: verifyPendingVersion,
  finishSecret: promotePendingVersion,
};
