import type { Clock } from './clock.js';
import {
  invalidParameter,
  invalidRequest,
  MARKED_FOR_DELETION,
  REPLICA_IS_READ_ONLY,
  resourceNotFound,
} from './errors.js';
import type { SecretRecord } from './model.js';
import { regionOf } from './regions.js';

/** A Region's view of the table (see {@link SecretTable.inRegion}). */
export interface RegionScope {
  region: string;
  /** Writes: `get`/`getActive` refuse a replica with the service's error. */
  refuseReplicas: boolean;
}

/**
 * The secrets the twin holds, keyed by ARN, and the clock: what every part of
 * {@link SecretsStore} works on. Records are live objects; the parts change them in place.
 * Every secret handed out by ARN or id, added or removed is remembered as touched until
 * {@link takeTouched}, so the state file writes only those (a change starts with a lookup,
 * or with {@link markChanged} where a part changes records it found through {@link all}).
 */
export class SecretTable {
  readonly #secrets: Map<string, SecretRecord>;
  /** Shared by every Region's view, as the secrets are. */
  readonly #touched: Set<string>;
  readonly #clock: Clock;
  readonly #scope: RegionScope | undefined;

  constructor(
    clock: Clock,
    shared?: { secrets: Map<string, SecretRecord>; touched: Set<string>; scope: RegionScope },
  ) {
    this.#clock = clock;
    this.#secrets = shared?.secrets ?? new Map();
    this.#touched = shared?.touched ?? new Set();
    this.#scope = shared?.scope;
  }

  /**
   * The same secrets seen from one Region: lookups and listings see only that Region's
   * secrets (ids resolve within the request's Region); adding and removing are unchanged.
   */
  inRegion(scope: RegionScope): SecretTable {
    return new SecretTable(this.#clock, {
      secrets: this.#secrets,
      touched: this.#touched,
      scope,
    });
  }

  /** The Region of this view; `undefined` for the whole table. */
  get region(): string | undefined {
    return this.#scope?.region;
  }

  #inScope(secret: SecretRecord | undefined): SecretRecord | undefined {
    return secret && (!this.#scope || regionOf(secret.arn) === this.#scope.region)
      ? secret
      : undefined;
  }

  /** The injected clock's time, in epoch milliseconds. */
  now(): number {
    return this.#clock.now();
  }

  /** The secret with exactly this ARN, as the runner and scheduler name secrets. */
  byArn(arn: string): SecretRecord | undefined {
    return this.#touch(this.#inScope(this.#secrets.get(arn)));
  }

  /** The secret an API `SecretId` names, including secrets scheduled for deletion. */
  find(secretId: string): SecretRecord | undefined {
    const byArn = this.#secrets.get(secretId);
    if (byArn) return this.#touch(this.#inScope(byArn));
    for (const secret of this.#secrets.values()) {
      if (this.#scope && regionOf(secret.arn) !== this.#scope.region) continue;
      if (secret.name === secretId) return this.#touch(secret);
      // A partial ARN (without the random suffix) also identifies the secret.
      if (secretId.startsWith('arn:') && secret.arn.slice(0, -7) === secretId) {
        return this.#touch(secret);
      }
    }
    return undefined;
  }

  /** {@link find}, or `ResourceNotFoundException`. */
  get(secretId: string): SecretRecord {
    const secret = this.find(secretId);
    if (!secret) throw resourceNotFound();
    if (this.#scope?.refuseReplicas && secret.primaryRegion !== undefined) {
      throw invalidParameter(REPLICA_IS_READ_ONLY);
    }
    return secret;
  }

  /** {@link get}, refusing a secret scheduled for deletion as the service does. */
  getActive(secretId: string): SecretRecord {
    const secret = this.get(secretId);
    if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
    return secret;
  }

  /** All secrets, in insertion order (a copy of the list; the records are live). */
  all(): SecretRecord[] {
    const all = [...this.#secrets.values()];
    const scope = this.#scope;
    return scope ? all.filter((s) => regionOf(s.arn) === scope.region) : all;
  }

  /** Adds a secret, or replaces the one with its ARN. */
  add(secret: SecretRecord): void {
    this.#secrets.set(secret.arn, secret);
    this.#touched.add(secret.arn);
  }

  /** Forgets a secret for good (forced or expired deletion). */
  remove(arn: string): void {
    this.#secrets.delete(arn);
    this.#touched.add(arn);
  }

  /** Records that a part changed `secret`, a record it reached through {@link all}. */
  markChanged(secret: SecretRecord): void {
    this.#touched.add(secret.arn);
  }

  /**
   * The secrets touched since the previous call, with their current record (`undefined`
   * once removed); only these can have changed. `all()` does not count as a touch: the
   * parts only read what it lists, or say {@link markChanged}.
   */
  takeTouched(): Map<string, SecretRecord | undefined> {
    const touched = new Map<string, SecretRecord | undefined>();
    for (const arn of this.#touched) touched.set(arn, this.#secrets.get(arn));
    this.#touched.clear();
    return touched;
  }

  #touch(secret: SecretRecord | undefined): SecretRecord | undefined {
    if (secret) this.#touched.add(secret.arn);
    return secret;
  }
}
