// A secret's resource-based policy, read once for everyone who needs it: the local twin checks
// structure and broad access (PutResourcePolicy, ValidateResourcePolicy) and the CLI's `doctor`
// summarises who may do what and who in another account may read the secret. One reading, so
// the twin and the CLI cannot give two verdicts on the same policy.
//
// The grammar is IAM's JSON policy grammar (IAM User Guide, "Grammar of the IAM JSON policy
// language"), restricted to what a resource policy may hold. "Broad access" follows Secrets
// Manager's description of BlockPublicPolicy: a wildcard principal, unless a condition pins who
// the caller is. AWS decides this with an automated reasoning engine (Zelkova); this is an
// approximation of it, listed in docs/local-twin.md.

/** One principal named by a statement: `{ type: '*', value: '*' }` for `"Principal": "*"`. */
export interface PolicyPrincipal {
  type: '*' | 'AWS' | 'Service' | 'Federated' | 'CanonicalUser';
  value: string;
}

/** One statement, normalised: single values become lists, keys keep their case. */
export interface PolicyStatement {
  /** 1-based position in the document, for messages. */
  index: number;
  sid?: string;
  effect: 'Allow' | 'Deny';
  principals: PolicyPrincipal[];
  /** True for `NotPrincipal`: the statement applies to everyone except `principals`. */
  notPrincipal: boolean;
  actions: string[];
  /** True for `NotAction`: the statement covers every action except `actions`. */
  notAction: boolean;
  /** Operator → condition key → values, as written. */
  condition: Record<string, Record<string, string[]>>;
}

/** A structurally valid policy. */
export interface PolicyDocument {
  statements: PolicyStatement[];
}

/** What {@link parseResourcePolicy} found. */
export type PolicyReading =
  | { kind: 'valid'; document: PolicyDocument }
  /** JSON, but not a policy: each problem names the element, never a value beyond it. */
  | { kind: 'invalid'; problems: string[] }
  | { kind: 'not-json' };

const VERSIONS = ['2012-10-17', '2008-10-17'];
const TOP_KEYS = ['Version', 'Id', 'Statement'];
const STATEMENT_KEYS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
];
const PRINCIPAL_TYPES = ['AWS', 'Service', 'Federated', 'CanonicalUser'] as const;
const ACTION = /^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/;

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string or a non-empty list of strings, as a list; `undefined` when it is neither. */
function stringList(value: Json): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return value as string[];
  }
  return undefined;
}

function exactlyOne(
  raw: Record<string, Json>,
  a: string,
  b: string,
  where: string,
  problems: string[],
): string | undefined {
  const has = [a, b].filter((k) => raw[k] !== undefined);
  if (has.length === 1) return has[0];
  problems.push(
    has.length === 0
      ? `${where}: ${a} or ${b} is required.`
      : `${where}: use ${a} or ${b}, not both.`,
  );
  return undefined;
}

function readPrincipals(value: Json, where: string, problems: string[]): PolicyPrincipal[] {
  if (value === '*') return [{ type: '*', value: '*' }];
  if (!isObject(value) || Object.keys(value).length === 0) {
    problems.push(
      `${where}: must be "*" or an object of AWS, Service, Federated or CanonicalUser.`,
    );
    return [];
  }
  const principals: PolicyPrincipal[] = [];
  for (const [type, names] of Object.entries(value)) {
    const list = stringList(names);
    if (!(PRINCIPAL_TYPES as readonly string[]).includes(type) || !list) {
      problems.push(`${where}: ${type} must be one of ${PRINCIPAL_TYPES.join(', ')} with strings.`);
      continue;
    }
    for (const name of list)
      principals.push({ type: type as PolicyPrincipal['type'], value: name });
  }
  return principals;
}

function readCondition(
  value: Json,
  where: string,
  problems: string[],
): Record<string, Record<string, string[]>> {
  if (value === undefined) return {};
  const condition: Record<string, Record<string, string[]>> = {};
  const scalar = (v: Json) => ['string', 'number', 'boolean'].includes(typeof v);
  if (!isObject(value)) {
    problems.push(`${where}: Condition must be an object of operators.`);
    return {};
  }
  for (const [operator, keys] of Object.entries(value)) {
    if (!isObject(keys) || Object.keys(keys).length === 0) {
      problems.push(`${where}: Condition ${operator} must map condition keys to values.`);
      continue;
    }
    condition[operator] = {};
    for (const [key, values] of Object.entries(keys)) {
      const list = Array.isArray(values) ? values : [values];
      if (list.length === 0 || !list.every(scalar)) {
        problems.push(
          `${where}: Condition ${operator} ${key} must be a value or a list of values.`,
        );
        continue;
      }
      (condition[operator] as Record<string, string[]>)[key] = list.map(String);
    }
  }
  return condition;
}

function readStatement(raw: Json, index: number, problems: string[]): PolicyStatement | undefined {
  const where = `Statement ${index}`;
  if (!isObject(raw)) {
    problems.push(`${where}: must be an object.`);
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.includes(key)) problems.push(`${where}: unknown element ${key}.`);
  }
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') {
    problems.push(`${where}: Sid must be a string.`);
  }
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') {
    problems.push(`${where}: Effect must be Allow or Deny.`);
  }
  const principalKey = exactlyOne(raw, 'Principal', 'NotPrincipal', where, problems);
  const principals = principalKey ? readPrincipals(raw[principalKey], where, problems) : [];
  const actionKey = exactlyOne(raw, 'Action', 'NotAction', where, problems);
  const actions = actionKey ? stringList(raw[actionKey]) : [];
  if (actionKey && !actions) problems.push(`${where}: ${actionKey} must be a string or a list.`);
  for (const action of actions ?? []) {
    if (!ACTION.test(action)) problems.push(`${where}: ${action} is not a valid action.`);
  }
  const resourceKey = exactlyOne(raw, 'Resource', 'NotResource', where, problems);
  if (resourceKey && !stringList(raw[resourceKey])) {
    problems.push(`${where}: ${resourceKey} must be a string or a list.`);
  }
  const condition = readCondition(raw.Condition, where, problems);
  if (problems.length > before) return undefined;
  return {
    index,
    ...(typeof raw.Sid === 'string' ? { sid: raw.Sid } : {}),
    effect: raw.Effect as 'Allow' | 'Deny',
    principals,
    notPrincipal: principalKey === 'NotPrincipal',
    actions: actions ?? [],
    notAction: actionKey === 'NotAction',
    condition,
  };
}

/**
 * Reads a resource policy: `not-json` when the text does not parse, `invalid` with every
 * structural problem, else the normalised statements.
 *
 * @example
 * parseResourcePolicy('{"Version":"2012-10-17"}') // { kind: 'invalid', problems: ['Statement is required.'] }
 */
export function parseResourcePolicy(text: string): PolicyReading {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'not-json' };
  }
  if (!isObject(json)) return { kind: 'invalid', problems: ['The policy must be a JSON object.'] };
  const problems: string[] = [];
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.includes(key)) problems.push(`Unknown element ${key}.`);
  }
  if (json.Version !== undefined && !VERSIONS.includes(json.Version as string)) {
    problems.push(`Version must be one of ${VERSIONS.join(', ')}.`);
  }
  const raw = json.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) problems.push('Statement is required.');
  const statements = list
    .map((s, i) => readStatement(s, i + 1, problems))
    .filter((s): s is PolicyStatement => s !== undefined);
  return problems.length > 0
    ? { kind: 'invalid', problems }
    : { kind: 'valid', document: { statements } };
}

function glob(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

/** Whether the statement's Action/NotAction covers `action` (e.g. `secretsmanager:GetSecretValue`). */
export function coversAction(statement: PolicyStatement, action: string): boolean {
  const listed = statement.actions.some((a) => glob(a).test(action));
  return statement.notAction ? !listed : listed;
}

/** The account a principal belongs to: `*` for any account, `undefined` for services and the like. */
export function principalAccount(principal: PolicyPrincipal): string | undefined {
  if (principal.type === '*') return '*';
  if (principal.type !== 'AWS') return undefined;
  if (principal.value === '*' || /^\d{12}$/.test(principal.value)) return principal.value;
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}|\*):/.exec(principal.value)?.[1];
}

// Condition keys that pin who the caller is or where it calls from; a wildcard principal
// restricted by one of them is not "public" (as IAM Access Analyzer and S3 read it).
const IDENTIFYING_KEYS = new Set(
  [
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:PrincipalOrgID',
    'aws:PrincipalOrgPaths',
    'aws:SourceAccount',
    'aws:SourceArn',
    'aws:SourceOwner',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:SourceIp',
    'aws:userid',
    'aws:username',
  ].map((k) => k.toLowerCase()),
);

function pinnedByCondition(statement: PolicyStatement): boolean {
  return Object.entries(statement.condition).some(
    ([operator, keys]) =>
      !/IfExists$/i.test(operator) &&
      !/^Null$/i.test(operator) &&
      Object.entries(keys).some(
        ([key, values]) =>
          IDENTIFYING_KEYS.has(key.toLowerCase()) && values.every((v) => !v.includes('*')),
      ),
  );
}

function namesEveryone(statement: PolicyStatement): boolean {
  return statement.notPrincipal || statement.principals.some((p) => principalAccount(p) === '*');
}

/**
 * The Allow statements that grant broad access: a wildcard principal (`*`, `{"AWS":"*"}`, an
 * ARN in any account) or `NotPrincipal`, with no condition pinning who the caller is.
 */
export function broadAccessStatements(document: PolicyDocument): PolicyStatement[] {
  return document.statements.filter(
    (s) => s.effect === 'Allow' && namesEveryone(s) && !pinnedByCondition(s),
  );
}

/**
 * Deny statements that would lock every caller out of changing the policy: a wildcard
 * principal, `secretsmanager:PutResourcePolicy` covered, and no condition at all.
 */
export function lockoutStatements(document: PolicyDocument): PolicyStatement[] {
  return document.statements.filter(
    (s) =>
      s.effect === 'Deny' &&
      namesEveryone(s) &&
      Object.keys(s.condition).length === 0 &&
      coversAction(s, 'secretsmanager:PutResourcePolicy'),
  );
}

/** One grant of an action to another account. `account` is `*` for any account. */
export interface AccountGrant {
  account: string;
  statement: PolicyStatement;
}

/**
 * The accounts other than `ownAccount` that an Allow statement grants `action` to (Deny
 * statements are not subtracted: this says who the policy lets in, not a full evaluation).
 */
export function otherAccountGrants(
  document: PolicyDocument,
  action: string,
  ownAccount: string,
): AccountGrant[] {
  const grants: AccountGrant[] = [];
  for (const statement of document.statements) {
    if (statement.effect !== 'Allow' || !coversAction(statement, action)) continue;
    const accounts = statement.notPrincipal
      ? ['*']
      : statement.principals.map(principalAccount).filter((a) => a !== undefined);
    for (const account of new Set(accounts)) {
      if (account !== ownAccount) grants.push({ account, statement });
    }
  }
  return grants;
}

/** A statement in one line, e.g. `Allow AWS 444455556666 → secretsmanager:GetSecretValue`. */
export function describeStatement(statement: PolicyStatement): string {
  const who = statement.principals
    .map((p) => (p.type === '*' ? '*' : `${p.type} ${p.value}`))
    .join(', ');
  const conditionKeys = Object.values(statement.condition).flatMap((keys) => Object.keys(keys));
  return [
    statement.effect,
    statement.notPrincipal ? `everyone except ${who}` : who,
    '→',
    `${statement.notAction ? 'every action except ' : ''}${statement.actions.join(', ')}`,
    conditionKeys.length > 0 ? `(when ${[...new Set(conditionKeys)].join(', ')})` : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
}

/** The alias of the AWS managed key Secrets Manager uses when a secret names none. */
export const AWS_MANAGED_KEY_ALIAS = 'alias/aws/secretsmanager';

/**
 * Whether a secret's `KmsKeyId` means the AWS managed key `aws/secretsmanager`: absent, empty,
 * the alias or the alias ARN. Other accounts can never decrypt with that key (User Guide,
 * "Access AWS Secrets Manager secrets from a different account").
 */
export function isAwsManagedKey(kmsKeyId: string | undefined): boolean {
  if (kmsKeyId === undefined || kmsKeyId === '') return true;
  return kmsKeyId === AWS_MANAGED_KEY_ALIAS || kmsKeyId.endsWith(`:${AWS_MANAGED_KEY_ALIAS}`);
}
