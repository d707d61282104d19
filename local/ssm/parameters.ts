import { ServiceException, validation } from '../secrets-manager/errors.js';

// Parameter Store's model: a parameter is its versions, each whole (type, value, key,
// description, labels). Names follow the API's rules: letters, digits, `_.-/`; a name with a
// `/` is a hierarchy and begins with one; at most 15 levels; no `aws`/`ssm` prefix.

/** The parameter types. */
export type ParameterType = 'String' | 'StringList' | 'SecureString';

/** One version of a parameter. */
export interface ParameterVersion {
  version: number;
  type: ParameterType;
  /** The value; for a SecureString, base64 of the KMS ciphertext blob. */
  value: string;
  /** SecureString only: the `KeyId` as given (default `alias/aws/ssm`). */
  keyId?: string;
  /** SecureString only: the ARN of the key that encrypted the value. */
  keyArn?: string;
  description?: string;
  allowedPattern?: string;
  tier: string;
  dataType: string;
  labels: string[];
  /** Epoch milliseconds. */
  modifiedAt: number;
  modifiedBy: string;
}

/** One parameter in one Region. */
export interface ParameterRecord {
  name: string;
  region: string;
  versions: ParameterVersion[];
}

/** A `name`, `name:version` or `name:label` reference. */
export interface ParameterReference {
  name: string;
  /** `:3` or `:label`, as given, when there is a selector. */
  selector?: string;
  version?: number;
  label?: string;
}

/** Versions a parameter keeps (the API's limit). */
export const MAX_VERSIONS = 100;
/** Labels on one version, at most. */
export const MAX_LABELS_PER_VERSION = 10;
const NAME = /^[a-zA-Z0-9_.\-/]+$/;
const LABEL = /^[a-zA-Z0-9_.-]+$/;

/** `ParameterNotFound`. */
export function parameterNotFound(name: string): ServiceException {
  return new ServiceException('ParameterNotFound', `Parameter ${name} not found.`);
}

/** `ParameterVersionNotFound`. */
export function versionNotFound(reference: string): ServiceException {
  return new ServiceException(
    'ParameterVersionNotFound',
    `Systems Manager could not find version ${reference}. Verify the parameter name and version, and try again.`,
  );
}

/** Checks a parameter name against the API's rules. */
export function checkName(name: string): void {
  if (name.length < 1 || name.length > 2048 || !NAME.test(name)) {
    throw validation(
      `Parameter name ${JSON.stringify(name)} is not valid: only a-zA-Z0-9_.-/ are allowed.`,
    );
  }
  if (name.includes('/') && !name.startsWith('/')) {
    throw validation('Parameter name must be a fully qualified name (begin with /).');
  }
  const first = name.replace(/^\//, '').toLowerCase();
  if (first.startsWith('aws') || first.startsWith('ssm')) {
    throw validation(
      'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
    );
  }
  if (name.split('/').filter((part) => part !== '').length > 15) {
    throw new ServiceException(
      'HierarchyLevelLimitExceededException',
      'A hierarchy can have a maximum of 15 levels.',
    );
  }
}

/** Whether a label follows the rules (invalid ones go to `InvalidLabels`). */
export function isValidLabel(label: string): boolean {
  if (label.length < 1 || label.length > 100 || !LABEL.test(label)) return false;
  if (/^[0-9]/.test(label)) return false;
  const lower = label.toLowerCase();
  return !lower.startsWith('aws') && !lower.startsWith('ssm');
}

/** Splits `name:version` / `name:label`. */
export function parseReference(raw: string): ParameterReference {
  const colon = raw.indexOf(':');
  if (colon < 0) return { name: raw };
  const name = raw.slice(0, colon);
  const tail = raw.slice(colon + 1);
  if (/^[0-9]+$/.test(tail)) return { name, selector: `:${tail}`, version: Number(tail) };
  return { name, selector: `:${tail}`, label: tail };
}

/** The parameters of an account, by Region and name. */
export class ParameterTable {
  readonly #parameters = new Map<string, ParameterRecord>();

  static #key(region: string, name: string): string {
    return `${region}\n${name}`;
  }

  /** Every parameter (for persistence). */
  all(): ParameterRecord[] {
    return [...this.#parameters.values()];
  }

  /** Adds records read from the state file. */
  restore(records: ParameterRecord[]): void {
    for (const record of records) {
      this.#parameters.set(ParameterTable.#key(record.region, record.name), record);
    }
  }

  find(region: string, name: string): ParameterRecord | undefined {
    return this.#parameters.get(ParameterTable.#key(region, name));
  }

  /** The parameter, or `ParameterNotFound`. */
  get(region: string, name: string): ParameterRecord {
    const record = this.find(region, name);
    if (!record) throw parameterNotFound(name);
    return record;
  }

  /** Adds a version (creating the parameter), dropping the oldest past {@link MAX_VERSIONS}. */
  put(region: string, name: string, version: Omit<ParameterVersion, 'version' | 'labels'>) {
    let record = this.find(region, name);
    if (!record) {
      record = { name, region, versions: [] };
      this.#parameters.set(ParameterTable.#key(region, name), record);
    }
    if (record.versions.length >= MAX_VERSIONS) {
      const oldest = record.versions[0] as ParameterVersion;
      if (oldest.labels.length > 0) {
        throw new ServiceException(
          'ParameterMaxVersionLimitExceeded',
          `Parameter ${name} already has ${MAX_VERSIONS} versions and its oldest version has labels. Move or delete the labels of version ${oldest.version}, then try again.`,
        );
      }
      record.versions.shift();
    }
    const latest = record.versions.at(-1)?.version ?? 0;
    const added: ParameterVersion = { ...version, version: latest + 1, labels: [] };
    record.versions.push(added);
    return added;
  }

  /** Deletes a parameter and its history; `ParameterNotFound` when absent. */
  delete(region: string, name: string): void {
    if (!this.#parameters.delete(ParameterTable.#key(region, name))) throw parameterNotFound(name);
  }

  /** The version a reference names: latest, `:version` or `:label`. */
  resolve(region: string, reference: ParameterReference): ParameterVersion {
    const record = this.get(region, reference.name);
    if (reference.version !== undefined) {
      const found = record.versions.find((v) => v.version === reference.version);
      if (!found) throw versionNotFound(`${reference.version} of ${reference.name}`);
      return found;
    }
    if (reference.label !== undefined) {
      const label = reference.label;
      const found = record.versions.find((v) => v.labels.includes(label));
      if (!found) throw versionNotFound(`with label ${label} of ${reference.name}`);
      return found;
    }
    return record.versions.at(-1) as ParameterVersion;
  }

  /**
   * Moves `labels` to a version (default the latest); invalid labels are returned, not
   * applied, as LabelParameterVersion does.
   */
  label(
    region: string,
    name: string,
    labels: string[],
    version?: number,
  ): { version: number; invalid: string[] } {
    const record = this.get(region, name);
    const target =
      version === undefined
        ? (record.versions.at(-1) as ParameterVersion)
        : record.versions.find((v) => v.version === version);
    if (!target) throw versionNotFound(`${version} of ${name}`);
    const invalid = labels.filter((label) => !isValidLabel(label));
    const valid = [...new Set(labels.filter(isValidLabel))];
    const added = valid.filter((label) => !target.labels.includes(label));
    if (target.labels.length + added.length > MAX_LABELS_PER_VERSION) {
      throw new ServiceException(
        'ParameterVersionLabelLimitExceeded',
        `A parameter version can have at most ${MAX_LABELS_PER_VERSION} labels.`,
      );
    }
    for (const other of record.versions) {
      if (other !== target) other.labels = other.labels.filter((l) => !valid.includes(l));
    }
    target.labels.push(...added);
    return { version: target.version, invalid };
  }

  /**
   * The parameters under `path` (`/a/b` → `/a/b/...`), sorted by name: direct children only,
   * or every descendant with `recursive`.
   */
  underPath(region: string, path: string, recursive: boolean): ParameterRecord[] {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return this.all()
      .filter((record) => record.region === region && record.name.startsWith(prefix))
      .filter((record) => recursive || !record.name.slice(prefix.length).includes('/'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
