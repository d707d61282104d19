import { GetResourcePolicyCommand } from '@aws-sdk/client-secrets-manager';
import {
  broadAccessStatements,
  describeStatement,
  isAwsManagedKey,
  otherAccountGrants,
  parseResourcePolicy,
} from '../../shared/secrets/resourcePolicy.js';
import type { CommandContext } from '../lib/context.js';
import type { Finding } from '../lib/findings.js';
import type { SecretState } from '../lib/secretState.js';
import { awsCommand, rotatorCommand } from '../lib/suggest.js';

/** The read a consumer in another account makes (BatchGetSecretValue needs it per secret too). */
const READ = 'secretsmanager:GetSecretValue';

/**
 * `doctor`'s resource-policy checks: what the policy attached to the secret allows (principals
 * and actions, never a value), whether it grants broad access, and whether another account
 * may read a secret encrypted with the AWS managed key, which no other account can decrypt
 * ("you can't use the AWS managed key aws/secretsmanager for cross-account access", User
 * Guide). None of these blocks rotation, so none is an `error`.
 */
export async function policyFindings(
  ctx: CommandContext,
  state: SecretState,
  findings: Finding[],
): Promise<void> {
  let text: string | undefined;
  try {
    const out = await ctx.sm.send(new GetResourcePolicyCommand({ SecretId: state.arn }));
    text = out?.ResourcePolicy;
  } catch (error) {
    findings.push({
      id: 'resource-policy-unknown',
      severity: 'info',
      title: `Could not read the resource policy (${(error as { name?: string })?.name ?? 'Error'}).`,
    });
    return;
  }
  if (text === undefined || text === '') {
    findings.push({
      id: 'resource-policy-none',
      severity: 'ok',
      title:
        'No resource policy: only identities of this account with IAM permissions use the secret.',
    });
    return;
  }
  const reading = parseResourcePolicy(text);
  if (reading.kind !== 'valid') {
    findings.push({
      id: 'resource-policy-unreadable',
      severity: 'warning',
      title: 'The resource policy could not be read as an IAM policy; its grants are not checked.',
      ...(reading.kind === 'invalid' ? { detail: reading.problems.join(' ') } : {}),
    });
    return;
  }
  const { statements } = reading.document;
  findings.push({
    id: 'resource-policy',
    severity: 'info',
    title: `Resource policy: ${statements.length} statement${statements.length === 1 ? '' : 's'}.`,
    detail: statements.map((s) => `${s.sid ?? `#${s.index}`}: ${describeStatement(s)}`).join('; '),
  });
  const name = state.name;
  const broad = broadAccessStatements(reading.document);
  if (broad.length > 0) {
    findings.push({
      id: 'resource-policy-public',
      severity: 'warning',
      title: `The resource policy grants broad access: ${broad.map((s) => s.sid ?? `statement ${s.index}`).join(', ')} name${broad.length === 1 ? 's' : ''} a wildcard principal with no condition limiting the caller.`,
      detail:
        'Any AWS account whose identity policy allows it may use these actions on the secret. Name the accounts or roles instead, or pin aws:PrincipalOrgID / aws:PrincipalAccount in a condition.',
      fix: `${awsCommand(ctx, 'secretsmanager', 'validate-resource-policy', '--secret-id', name, '--resource-policy', 'file://policy.json')}   # then put-resource-policy --block-public-policy`,
    });
  }
  const ownAccount = state.arn.split(':')[4] ?? '';
  const readers = [
    ...new Set(otherAccountGrants(reading.document, READ, ownAccount).map((g) => g.account)),
  ];
  if (readers.length > 0 && isAwsManagedKey(state.kmsKeyId)) {
    const who = readers.map((a) => (a === '*' ? 'any account' : `account ${a}`)).join(', ');
    findings.push({
      id: 'cross-account-aws-managed-key',
      severity: 'warning',
      title: `The policy lets ${who} read the secret, but it is encrypted with the AWS managed key aws/secretsmanager: reads from another account fail.`,
      detail:
        'No other account can use the AWS managed key, and its key policy cannot be changed. Encrypt the secret with a customer managed KMS key whose key policy allows the other account kms:Decrypt; versions written before the change stay under the old key, so rotate once afterwards.',
      fix: `${awsCommand(ctx, 'secretsmanager', 'update-secret', '--secret-id', name, '--kms-key-id', '<customer-managed-key-arn>')} && ${rotatorCommand(ctx, ['rotate', name])}`,
    });
  } else if (readers.length > 0) {
    findings.push({
      id: 'cross-account-read',
      severity: 'info',
      title: `Another account may read the secret (${readers.join(', ')}); it is encrypted with ${state.kmsKeyId}, whose key policy must allow that account kms:Decrypt.`,
    });
  }
}
