import type { SecretDescription } from '../secrets/SecretsGateway.js';
import { assertNotFrozen, FREEZE_TAG, type FreezeDeclaration } from './freeze.js';

/** Where freeze windows come from besides the secret's own tag; see docs/governance.md. */
export interface FreezeSources {
  /** The stack-wide declaration (an SSM parameter), or undefined when none is configured. */
  stack?: () => Promise<{ name: string; declaration: string } | undefined>;
  /** Clock for tests; `Date.now` by default. */
  now?: () => number;
}

/** What {@link checkFreezeWindows} reads, lazily. */
export interface FreezeSubject {
  description: SecretDescription;
  /** The secret's AWSCURRENT value (already read for createSecret's new value). */
  current: () => Promise<string>;
  /** DescribeSecret of another secret (the admin secret named by `masterarn`). */
  describe: (secretId: string) => Promise<SecretDescription>;
  /** Where a failed admin-secret lookup is reported. */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The admin secret a value depends on: the `masterarn` field of AWS's database secret JSON,
 * which every kind with an admin login uses. Not JSON, or no such field: none.
 */
function adminSecretOf(value: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    const arn = (parsed as { masterarn?: unknown } | null)?.masterarn;
    return typeof arn === 'string' && arn !== '' ? arn : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses (with `RotationFrozenError`) when now is inside a freeze window declared by the
 * secret's `rotator:freeze` tag, the stack-wide parameter, or the admin secret's tag. Reads
 * in that order and stops at the first window in effect; the admin secret costs one
 * DescribeSecret, only for secrets that name one, and a failed lookup is logged, not fatal.
 */
export async function checkFreezeWindows(
  subject: FreezeSubject,
  sources: FreezeSources = {},
): Promise<void> {
  const now = sources.now?.() ?? Date.now();
  const own = subject.description.tags?.get(FREEZE_TAG);
  const declarations: FreezeDeclaration[] = [];
  if (own !== undefined) {
    declarations.push({
      source: `the tag ${FREEZE_TAG} of secret ${subject.description.arn}`,
      declaration: own,
    });
  }
  assertNotFrozen(declarations, now);
  const stack = await sources.stack?.();
  if (stack) {
    assertNotFrozen(
      [{ source: `the parameter ${stack.name}`, declaration: stack.declaration }],
      now,
    );
  }
  const adminArn = adminSecretOf(await subject.current());
  if (adminArn === undefined) return;
  let admin: SecretDescription;
  try {
    admin = await subject.describe(adminArn);
  } catch (error) {
    // The admin secret's tags are the least direct source: a lookup the role may not be
    // allowed (another account's secret) must not stop every rotation that depends on it.
    subject.warn("Could not read the admin secret's freeze tag: not applying it", {
      adminSecret: adminArn,
      errorName: (error as { name?: unknown })?.name,
    });
    return;
  }
  const adminTag = admin.tags?.get(FREEZE_TAG);
  if (adminTag !== undefined) {
    assertNotFrozen(
      [{ source: `the tag ${FREEZE_TAG} of admin secret ${admin.arn}`, declaration: adminTag }],
      now,
    );
  }
}
