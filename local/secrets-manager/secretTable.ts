import type { Clock } from './clock.js';
import { invalidRequest, MARKED_FOR_DELETION, resourceNotFound } from './errors.js';
import type { SecretRecord } from './model.js';

/**
 * The secrets the twin holds, keyed by ARN, and the clock: what every part of
 * {@link SecretsStore} works on. Records are live objects; the parts change them in place.
 * Every secret handed out by ARN or id, added or removed is remembered as touched until
 * {@link takeTouched}, so the state file writes only those (a change starts with a lookup).
 */
export class SecretTable {
  readonly #secrets = new Map<string, SecretRecord>();
  readonly #touched = new Set<string>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The injected clock's time, in epoch milliseconds. */
  now(): number {
    return this.#clock.now();
  }

  /** The secret with exactly this ARN, as the runner and scheduler name secrets. */
  byArn(arn: string): SecretRecord | undefined {
    return this.#touch(this.#secrets.get(arn));
  }

  /** The secret an API `SecretId` names, including secrets scheduled for deletion. */
  find(secretId: string): SecretRecord | undefined {
    const byArn = this.#secrets.get(secretId);
    if (byArn) return this.#touch(byArn);
    for (const secret of this.#secrets.values()) {
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
    return [...this.#secrets.values()];
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

  /**
   * The secrets touched since the previous call, with their current record (`undefined`
   * once removed); only these can have changed. `all()` does not count as a touch: the
   * parts only read what it lists.
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
