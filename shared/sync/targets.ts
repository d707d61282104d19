import { RotationError, SecretFormatError } from '../errors.js';

/**
 * Sync targets: copies of a secret outside Secrets Manager (a Parameter Store
 * `SecureString`, a field of an S3 file) that every rotation brings up to date. They are
 * declared by tags on the secret, one tag per target, so the engine reads them from the
 * `DescribeSecret` it makes anyway (no extra call for a secret without targets):
 *
 * - key `rotator:sync:ssm:<id>`, value `name=/acme/serviceA/db-password field=password key=alias/acme`
 * - key `rotator:sync:s3:<id>`, value `bucket=b key=config/app.json format=json pointer=/db/password kms=alias/acme`
 *
 * The value is space-separated `name=value` settings; tag values allow only letters, digits,
 * spaces and `_ . : / = + - @`, so no setting holds a space or a `~`. See docs/sync.md.
 */

/** Prefix of every sync tag key. */
export const SYNC_TAG_PREFIX = 'rotator:sync:';

/** A Parameter Store `SecureString` holding the secret (or one JSON field of it). */
export interface ParameterTarget {
  readonly type: 'ssm';
  /** The tag that declared it, for messages. */
  readonly tag: string;
  /** Parameter name (`/acme/serviceA/db-password`). */
  readonly name: string;
  /** Top-level field of the secret's JSON to copy; `undefined` copies the whole value. */
  readonly field: string | undefined;
  /** KMS key id, ARN or alias for the `SecureString`; `undefined` uses `alias/aws/ssm`. */
  readonly kmsKeyId: string | undefined;
}

/** How an S3 target stores the value. */
export type ObjectFormat = 'json' | 'env' | 'envelope';

/** An S3 object holding the secret (or one field of it) in one of {@link ObjectFormat}. */
export interface ObjectTarget {
  readonly type: 's3';
  readonly tag: string;
  readonly bucket: string;
  readonly key: string;
  readonly format: ObjectFormat;
  /** `json`: RFC 6901 pointer to the field replaced in the document (`/db/password`). */
  readonly pointer: string | undefined;
  /** `env`: the variable whose line is replaced (`DB_PASSWORD`). */
  readonly variable: string | undefined;
  /** Top-level field of the secret's JSON to copy; `undefined` copies the whole value. */
  readonly field: string | undefined;
  /** KMS key for SSE-KMS (and, for `envelope`, for the data key). */
  readonly kmsKeyId: string;
}

/** One declared copy of a secret. */
export type SyncTarget = ParameterTarget | ObjectTarget;

/** A sync tag is malformed: names the tag and the setting, never a secret value. */
export class SyncTargetError extends RotationError {
  readonly tag: string;
  readonly field: string;
  constructor(tag: string, field: string, problem: string) {
    super(`Sync target tag "${tag}": ${field === '' ? '' : `setting "${field}" `}${problem}`);
    this.tag = tag;
    this.field = field;
  }
}

const TAG_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const PARAMETER_NAME = /^[A-Za-z0-9_./-]{1,1011}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const OBJECT_KEY = /^[A-Za-z0-9_.:/=+@-]{1,256}$/;
const KMS_KEY = /^[A-Za-z0-9_.:/+=@-]{1,256}$/;
const FIELD = /^[A-Za-z0-9_.:+=@-]{1,128}$/;
const ENV_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const POINTER = /^(\/[A-Za-z0-9_.:+=@-]+)+$/;

const SETTINGS: Record<'ssm' | 's3', readonly string[]> = {
  ssm: ['name', 'field', 'key'],
  s3: ['bucket', 'key', 'format', 'pointer', 'var', 'field', 'kms'],
};

function settingsOf(tag: string, type: 'ssm' | 's3', value: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const part of value.split(' ')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SyncTargetError(tag, '', 'must be space-separated name=value settings');
    const name = part.slice(0, eq);
    if (!SETTINGS[type].includes(name)) {
      throw new SyncTargetError(
        tag,
        name,
        `is not known for ${type} targets (known: ${SETTINGS[type].join(', ')})`,
      );
    }
    if (settings.has(name)) throw new SyncTargetError(tag, name, 'is given twice');
    settings.set(name, part.slice(eq + 1));
  }
  return settings;
}

function setting(
  tag: string,
  settings: Map<string, string>,
  name: string,
  pattern: RegExp,
  what: string,
): string | undefined {
  const value = settings.get(name);
  if (value === undefined) return undefined;
  if (!pattern.test(value)) throw new SyncTargetError(tag, name, `must be ${what}`);
  return value;
}

function required<T>(tag: string, name: string, value: T | undefined): T {
  if (value === undefined) throw new SyncTargetError(tag, name, 'is required');
  return value;
}

function parameterTarget(tag: string, settings: Map<string, string>): ParameterTarget {
  const name = required(
    tag,
    'name',
    setting(tag, settings, 'name', PARAMETER_NAME, 'a parameter name (letters, digits, _ . - /)'),
  );
  if (name.startsWith('/aws') || name.startsWith('aws') || name.startsWith('ssm')) {
    throw new SyncTargetError(tag, 'name', 'must not begin with aws or ssm (reserved)');
  }
  return {
    type: 'ssm',
    tag,
    name,
    field: setting(tag, settings, 'field', FIELD, 'a top-level field name of the secret'),
    kmsKeyId: setting(tag, settings, 'key', KMS_KEY, 'a KMS key id, ARN or alias'),
  };
}

function objectTarget(tag: string, settings: Map<string, string>): ObjectTarget {
  const format = required(tag, 'format', settings.get('format'));
  if (format !== 'json' && format !== 'env' && format !== 'envelope') {
    throw new SyncTargetError(tag, 'format', 'must be json, env or envelope');
  }
  const pointer = setting(
    tag,
    settings,
    'pointer',
    POINTER,
    'a JSON pointer such as /db/password (no ~ escapes: tag values cannot hold ~)',
  );
  const variable = setting(tag, settings, 'var', ENV_VARIABLE, 'an environment variable name');
  if (format === 'json') required(tag, 'pointer', pointer);
  else if (pointer !== undefined)
    throw new SyncTargetError(tag, 'pointer', 'is only for format=json');
  if (format === 'env') required(tag, 'var', variable);
  else if (variable !== undefined) throw new SyncTargetError(tag, 'var', 'is only for format=env');
  return {
    type: 's3',
    tag,
    bucket: required(
      tag,
      'bucket',
      setting(tag, settings, 'bucket', BUCKET, 'an S3 bucket name (3-63 of a-z 0-9 . -)'),
    ),
    key: required(
      tag,
      'key',
      setting(tag, settings, 'key', OBJECT_KEY, 'an object key (letters, digits, _ . : / = + @ -)'),
    ),
    format,
    pointer,
    variable,
    field: setting(tag, settings, 'field', FIELD, 'a top-level field name of the secret'),
    kmsKeyId: required(
      tag,
      'kms',
      setting(tag, settings, 'kms', KMS_KEY, 'a KMS key id, ARN or alias'),
    ),
  };
}

/** A short name of a target for messages and reports: never holds a value. */
export function describeTarget(target: SyncTarget): string {
  if (target.type === 'ssm') return `ssm:${target.name}`;
  const where = target.format === 'json' ? `#${target.pointer}` : '';
  const variable = target.format === 'env' ? `#${target.variable}` : '';
  return `s3://${target.bucket}/${target.key}${where}${variable} (${target.format})`;
}

/**
 * The sync targets a secret's tags declare (tags without the `rotator:sync:` prefix are
 * ignored), in tag-key order. Throws {@link SyncTargetError} naming the tag and setting for
 * a malformed declaration, and for two tags that write the same place.
 *
 * @example
 * ```ts
 * parseSyncTargets(new Map([['rotator:sync:ssm:1', 'name=/acme/db field=password']]));
 * ```
 */
export function parseSyncTargets(tags: ReadonlyMap<string, string>): SyncTarget[] {
  const targets: SyncTarget[] = [];
  const places = new Map<string, string>();
  for (const tag of [...tags.keys()].sort()) {
    if (!tag.startsWith(SYNC_TAG_PREFIX)) continue;
    const [type, id, ...rest] = tag.slice(SYNC_TAG_PREFIX.length).split(':');
    if ((type !== 'ssm' && type !== 's3') || id === undefined || rest.length > 0) {
      throw new SyncTargetError(tag, '', 'must be rotator:sync:ssm:<id> or rotator:sync:s3:<id>');
    }
    if (!TAG_ID.test(id)) {
      throw new SyncTargetError(tag, '', 'has an id that is not 1-32 of letters, digits, _ . -');
    }
    const settings = settingsOf(tag, type, tags.get(tag) ?? '');
    const target = type === 'ssm' ? parameterTarget(tag, settings) : objectTarget(tag, settings);
    const place =
      target.type === 'ssm'
        ? `ssm:${target.name}`
        : `s3:${target.bucket}/${target.key}${target.format === 'json' ? `#${target.pointer}` : ''}${target.format === 'env' ? `#${target.variable}` : ''}`;
    const other = places.get(place);
    if (other !== undefined) {
      throw new SyncTargetError(tag, '', `writes the same place as tag "${other}"`);
    }
    places.set(place, tag);
    targets.push(target);
  }
  // An envelope replaces the whole object: no other target may share it.
  for (const target of targets) {
    if (target.type !== 's3') continue;
    const sharing = targets.find(
      (t) =>
        t !== target &&
        t.type === 's3' &&
        t.bucket === target.bucket &&
        t.key === target.key &&
        (t.format !== target.format || t.format === 'envelope'),
    );
    if (sharing) {
      throw new SyncTargetError(
        target.tag,
        'key',
        `names the object of tag "${sharing.tag}" in another format (or an envelope, which fills the whole object)`,
      );
    }
  }
  return targets;
}

/**
 * The text a target holds for a secret value: the whole value, or one top-level field of
 * its JSON (a string, or a number or boolean as written). Names the field, never a value.
 */
export function targetValue(target: SyncTarget, secretText: string): string {
  if (target.field === undefined) return secretText;
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretText);
  } catch {
    throw new SecretFormatError(
      target.field,
      `cannot be read for sync target ${describeTarget(target)}: the secret is not JSON`,
    );
  }
  const value =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)[target.field]
      : undefined;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new SecretFormatError(
    target.field,
    `must be a non-empty string, number or boolean for sync target ${describeTarget(target)}`,
  );
}
