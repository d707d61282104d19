import {
  broadAccessStatements,
  describeStatement,
  lockoutStatements,
  type PolicyStatement,
  parseResourcePolicy,
} from '../../shared/secrets/resourcePolicy.js';
import { malformedPolicyDocument, publicPolicy } from './errors.js';
import { type Input, optionalBoolean, optionalString, requiredString } from './input.js';
import { prune } from './model.js';
import type { SecretTable } from './secretTable.js';

// Resource-based policies: stored with the secret as the text the caller sent, checked for
// structure and broad access (shared/secrets/resourcePolicy.ts), never evaluated: the twin
// has no IAM, so a policy changes no access decision.

/** API `SecretIdType`. */
const SECRET_ID = { min: 1, max: 2048 };
/** API `NonEmptyResourcePolicyType`. */
const POLICY = { min: 1, max: 20_480 };

/** The exception text for a policy that is not valid JSON or not a policy (wording guessed). */
const SYNTAX_ERROR = 'This resource policy contains a syntax error.';

function broadAccessMessage(statement: PolicyStatement): string {
  return `Statement ${statement.index}${statement.sid ? ` (${statement.sid})` : ''} grants broad access (${describeStatement(statement)}): a wildcard principal without a condition that limits who the caller is.`;
}

/** PutResourcePolicy: attaches the policy; BlockPublicPolicy refuses one granting broad access. */
export function putResourcePolicy(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId', SECRET_ID));
  const text = requiredString(input, 'ResourcePolicy', POLICY);
  const block = optionalBoolean(input, 'BlockPublicPolicy') ?? false;
  const reading = parseResourcePolicy(text);
  if (reading.kind === 'not-json') throw malformedPolicyDocument(SYNTAX_ERROR);
  if (reading.kind === 'invalid') {
    throw malformedPolicyDocument(`${SYNTAX_ERROR} ${reading.problems.join(' ')}`);
  }
  const broad = broadAccessStatements(reading.document);
  if (block && broad.length > 0) {
    throw publicPolicy(
      `BlockPublicPolicy refused the resource policy. ${broad.map(broadAccessMessage).join(' ')}`,
    );
  }
  secret.resourcePolicy = text;
  secret.lastChangedDate = table.now();
  return { ARN: secret.arn, Name: secret.name };
}

/** GetResourcePolicy: `ResourcePolicy` is omitted when none is attached. */
export function getResourcePolicy(table: SecretTable, input: Input): Record<string, unknown> {
  // Metadata like DescribeSecret: also answered for a secret scheduled for deletion.
  const secret = table.get(requiredString(input, 'SecretId', SECRET_ID));
  return prune({ ARN: secret.arn, Name: secret.name, ResourcePolicy: secret.resourcePolicy });
}

/** DeleteResourcePolicy: succeeds also when no policy is attached. */
export function deleteResourcePolicy(table: SecretTable, input: Input): Record<string, unknown> {
  const secret = table.getActive(requiredString(input, 'SecretId', SECRET_ID));
  if (secret.resourcePolicy !== undefined) {
    secret.resourcePolicy = undefined;
    secret.lastChangedDate = table.now();
  }
  return { ARN: secret.arn, Name: secret.name };
}

/**
 * ValidateResourcePolicy: the three documented checks (syntax, broad access, lock-out) as
 * `ValidationErrors`; only text that is not JSON is an exception.
 */
export function validateResourcePolicy(table: SecretTable, input: Input): Record<string, unknown> {
  const secretId = optionalString(input, 'SecretId', SECRET_ID);
  if (secretId !== undefined) table.getActive(secretId);
  const reading = parseResourcePolicy(requiredString(input, 'ResourcePolicy', POLICY));
  if (reading.kind === 'not-json') throw malformedPolicyDocument(SYNTAX_ERROR);
  const errors =
    reading.kind === 'invalid'
      ? reading.problems.map((message) => ({ CheckName: 'SYNTAX_CHECK', ErrorMessage: message }))
      : [
          ...broadAccessStatements(reading.document).map((s) => ({
            CheckName: 'BROAD_ACCESS_CHECK',
            ErrorMessage: broadAccessMessage(s),
          })),
          ...lockoutStatements(reading.document).map((s) => ({
            CheckName: 'LOCKOUT_CHECK',
            ErrorMessage: `Statement ${s.index} denies everyone secretsmanager:PutResourcePolicy without a condition: no caller could change the policy again.`,
          })),
        ];
  return { PolicyValidationPassed: errors.length === 0, ValidationErrors: errors };
}
