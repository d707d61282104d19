import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { writeAtomically } from '../common/atomicFile.js';
import { journalKey, newJournalId, openRecord, sealRecord, splitStateFile } from './journal.js';
import {
  decryptValue,
  ENVELOPE_FORMAT,
  type Envelope,
  encryptValue,
  keyId,
  StateFileError,
} from './masterKey.js';
import type { SecretRecord, SecretValue, StoreSnapshot, VersionRecord } from './model.js';

/** The first format: a snapshot alone (its name is also bound into every value envelope). */
const FORMAT_V1 = ENVELOPE_FORMAT;
/** A snapshot line followed by a journal of sealed commits. */
const FORMAT = 'rotator-local-secrets-manager/v2';

interface PersistedVersion extends Omit<VersionRecord, 'value'> {
  value?: { kind: SecretValue['kind']; envelope: Envelope };
}

type PersistedSecret = Omit<SecretRecord, 'versions'> & { versions: PersistedVersion[] };

/** The snapshot: the first line of the state file. */
interface PersistedFile {
  format: string;
  /** Identifies the master key (hash), so a wrong key is reported as such. */
  masterKeyId: string;
  /** Id of the journal that follows (bound into each record); absent in the first format. */
  journal?: string;
  secrets: PersistedSecret[];
}

/** One journal record: the secrets a commit wrote whole, and the ARNs it deleted. */
interface PersistedCommit {
  put: PersistedSecret[];
  delete: string[];
}

/**
 * What the state file reads the twin's state from: {@link SecretsStore} satisfies it.
 */
export interface StateSource {
  /** Every secret (live records, read synchronously). */
  all(): readonly SecretRecord[];
  /**
   * The secrets read or changed since the previous call, by ARN, with their current record
   * (`undefined` once deleted). Only these can have changed.
   */
  takeTouched(): Map<string, SecretRecord | undefined>;
}

/** Options of {@link StateFile}. */
export interface StateFileOptions {
  /**
   * The journal is compacted into a new snapshot once it is longer than this many bytes, or
   * than the snapshot itself if that is longer (default 1 MiB).
   */
  compactionBytes?: number;
}

/** Counters, for tests and benchmarks. */
export interface StateFileStats {
  /** Commits appended to the journal. */
  appends: number;
  /** Snapshots written (start-up, journal bound, close). */
  compactions: number;
  /** Bytes of journal after the current snapshot. */
  journalBytes: number;
  /** Bytes of the current snapshot line. */
  snapshotBytes: number;
}

const DEFAULT_COMPACTION_BYTES = 1_048_576;

/**
 * The encrypted state file: a snapshot line followed by a journal of commits. A commit
 * appends one sealed record holding the secrets that changed since the previous commit (each
 * whole, values in their envelopes) and fdatasyncs the file, so a write costs the size of the
 * change, not of the store. Concurrent saves share commits (group commit): a save resolves
 * once a commit that started after it was requested is durable.
 *
 * When the journal outgrows its bound, and on the first save after start-up and on close, the
 * state is compacted: the whole snapshot is written to a temporary file, fsynced, renamed over
 * the state file and the directory fsynced, so a crash leaves either the old file or the new.
 * A commit torn by a crash mid-append is an unterminated last line: {@link load} drops it and
 * keeps every earlier commit; any other damage is refused.
 */
export class StateFile {
  readonly #masterKey: Buffer;
  readonly #journalKey: Buffer;
  readonly #compactionBytes: number;
  /** Versions are immutable once they hold a value, so each is encrypted once. */
  readonly #envelopes = new Map<string, Map<string, { value: SecretValue; envelope: Envelope }>>();
  /** The serialised form last made durable, per ARN: a save writes only what differs. */
  readonly #written = new Map<string, string>();
  /** Touched secrets a failed commit did not write. */
  readonly #dirty = new Map<string, SecretRecord | undefined>();
  #journalId = '';
  #sequence = 0;
  /** Until the first compaction the file may be absent, of the first format, or torn. */
  #mustCompact = true;
  #writing: Promise<void> = Promise.resolve();
  #queued: { promise: Promise<void>; full: boolean; compact: boolean } | undefined;
  #closed = false;
  readonly #stats: StateFileStats = {
    appends: 0,
    compactions: 0,
    journalBytes: 0,
    snapshotBytes: 0,
  };

  constructor(
    readonly path: string,
    masterKey: Buffer,
    options: StateFileOptions = {},
  ) {
    this.#masterKey = masterKey;
    this.#journalKey = journalKey(masterKey);
    this.#compactionBytes = options.compactionBytes ?? DEFAULT_COMPACTION_BYTES;
  }

  /** A copy of the counters. */
  get stats(): StateFileStats {
    return { ...this.#stats };
  }

  /**
   * Reads and decrypts the state: the snapshot, then every journal record in order. A torn
   * last record is dropped. `undefined` when the file does not exist yet. Read-only: the
   * file is rewritten by the first save.
   */
  load(): StoreSnapshot | undefined {
    if (!existsSync(this.path)) return undefined;
    const { snapshot, records } = splitStateFile(readFileSync(this.path));
    let file: PersistedFile;
    try {
      file = JSON.parse(snapshot.toString('utf8')) as PersistedFile;
    } catch (cause) {
      throw new StateFileError(`State file ${this.path} is not valid JSON.`, { cause });
    }
    if (file.format !== FORMAT && file.format !== FORMAT_V1)
      throw new StateFileError(`State file ${this.path} has an unknown format.`);
    if (file.masterKeyId !== keyId(this.#masterKey)) {
      throw new StateFileError(`State file ${this.path} was written with a different master key.`);
    }
    const secrets = new Map(file.secrets.map((secret) => [secret.arn, secret]));
    records.forEach((line, index) => {
      let commit: PersistedCommit;
      try {
        commit = JSON.parse(
          openRecord(this.#journalKey, file.journal ?? '', index + 1, line),
        ) as PersistedCommit;
      } catch (cause) {
        throw new StateFileError(
          `State file ${this.path}: journal record ${index + 1} could not be decrypted (tampered or corrupt).`,
          { cause },
        );
      }
      for (const secret of commit.put) secrets.set(secret.arn, secret);
      for (const arn of commit.delete) secrets.delete(arn);
    });
    try {
      return { secrets: [...secrets.values()].map((secret) => this.#decrypt(secret)) };
    } catch (cause) {
      throw new StateFileError(
        `State file ${this.path} could not be decrypted (tampered or corrupt).`,
        { cause },
      );
    }
  }

  /**
   * Makes the changes of the secrets `source` reports as touched durable; with `full`, checks
   * every secret (for changes made to records directly); with `compact`, writes a new
   * snapshot instead of appending. Resolves once durable.
   */
  save(source: StateSource, options: { full?: boolean; compact?: boolean } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new StateFileError('The state file is closed.'));
    const full = options.full ?? false;
    const compact = options.compact ?? false;
    if (this.#queued) {
      // Not started yet: it will see this caller's changes too.
      this.#queued.full ||= full;
      this.#queued.compact ||= compact;
      return this.#queued.promise;
    }
    const queued = { full, compact, promise: Promise.resolve() };
    queued.promise = this.#writing
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#commit(source, queued.full, queued.compact);
      });
    this.#queued = queued;
    this.#writing = queued.promise;
    return queued.promise;
  }

  /**
   * Waits for pending saves, compacts the journal into the snapshot when it holds records
   * and `source` is given (best effort: the journal is already durable), and refuses later
   * saves.
   */
  async close(source?: StateSource): Promise<void> {
    if (this.#closed) return;
    // Closed first: a commit that has not started yet is refused rather than racing the
    // compaction below (an append after its rename would carry the old journal's id).
    this.#closed = true;
    await this.#writing.catch(() => undefined);
    if (source && (this.#sequence > 0 || this.#dirty.size > 0)) {
      await this.#compact(source).catch(() => undefined);
    }
  }

  async #commit(source: StateSource, full: boolean, compact: boolean): Promise<void> {
    if (this.#closed) throw new StateFileError('The state file is closed.');
    for (const [arn, secret] of source.takeTouched()) this.#dirty.set(arn, secret);
    if (full) {
      const live = new Set<string>();
      for (const secret of source.all()) {
        live.add(secret.arn);
        this.#dirty.set(secret.arn, secret);
      }
      for (const arn of this.#written.keys()) if (!live.has(arn)) this.#dirty.set(arn, undefined);
    }
    if (this.#mustCompact || compact) return this.#compact(source);
    const put: string[] = [];
    const deleted: string[] = [];
    const written = new Map<string, string | undefined>();
    for (const [arn, secret] of this.#dirty) {
      if (!secret) {
        if (this.#written.has(arn)) deleted.push(arn);
        written.set(arn, undefined);
        continue;
      }
      const json = this.#serialize(secret);
      if (json === this.#written.get(arn)) continue;
      put.push(json);
      written.set(arn, json);
    }
    if (put.length === 0 && deleted.length === 0) {
      this.#dirty.clear();
      return;
    }
    const payload = `{"put":[${put.join(',')}],"delete":${JSON.stringify(deleted)}}`;
    const line = sealRecord(this.#journalKey, this.#journalId, this.#sequence + 1, payload);
    const bound = Math.max(this.#compactionBytes, this.#stats.snapshotBytes);
    if (this.#stats.journalBytes + line.length > bound) return this.#compact(source);
    try {
      const handle = await open(this.path, 'a');
      try {
        await handle.write(line);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      // The file may now end in part of this record: rewrite it whole before appending again.
      this.#mustCompact = true;
      throw error;
    }
    this.#sequence += 1;
    this.#stats.appends += 1;
    this.#stats.journalBytes += line.length;
    for (const [arn, json] of written) {
      if (json === undefined) {
        this.#written.delete(arn);
        this.#envelopes.delete(arn);
      } else this.#written.set(arn, json);
    }
    this.#dirty.clear();
  }

  /** Writes the whole state as a new snapshot with an empty journal. */
  async #compact(source: StateSource): Promise<void> {
    // Everything is serialised afresh, so the snapshot does not depend on what was touched.
    source.takeTouched();
    const journalId = newJournalId();
    const serialised = new Map<string, string>();
    for (const secret of source.all()) serialised.set(secret.arn, this.#serialize(secret));
    const data = `{"format":"${FORMAT}","masterKeyId":"${keyId(this.#masterKey)}","journal":"${journalId}","secrets":[${[...serialised.values()].join(',')}]}\n`;
    try {
      await writeAtomically(this.path, data);
    } catch (error) {
      this.#mustCompact = true;
      throw error;
    }
    this.#journalId = journalId;
    this.#sequence = 0;
    this.#mustCompact = false;
    this.#stats.compactions += 1;
    this.#stats.journalBytes = 0;
    this.#stats.snapshotBytes = data.length;
    this.#written.clear();
    for (const [arn, json] of serialised) this.#written.set(arn, json);
    for (const arn of this.#envelopes.keys()) if (!serialised.has(arn)) this.#envelopes.delete(arn);
    this.#dirty.clear();
  }

  /** The persisted JSON of one secret, each value in its (cached) envelope. */
  #serialize(secret: SecretRecord): string {
    const cached = this.#envelopes.get(secret.arn);
    const live = new Map<string, { value: SecretValue; envelope: Envelope }>();
    const versions = secret.versions.map((v): PersistedVersion => {
      const { value, ...rest } = v;
      if (!value) return rest;
      let entry = cached?.get(v.versionId);
      if (!entry || !sameValue(entry.value, value)) {
        entry = {
          value,
          envelope: encryptValue(this.#masterKey, secret.arn, v.versionId, value),
        };
      }
      live.set(v.versionId, entry);
      return { ...rest, value: { kind: value.kind, envelope: entry.envelope } };
    });
    this.#envelopes.set(secret.arn, live);
    return JSON.stringify({ ...secret, versions });
  }

  #decrypt(secret: PersistedSecret): SecretRecord {
    const envelopes = new Map<string, { value: SecretValue; envelope: Envelope }>();
    const versions = secret.versions.map((v): VersionRecord => {
      const { value, ...rest } = v;
      if (!value) return rest;
      const plain = decryptValue(
        this.#masterKey,
        secret.arn,
        v.versionId,
        value.kind,
        value.envelope,
      );
      envelopes.set(v.versionId, { value: plain, envelope: value.envelope });
      return { ...rest, value: plain };
    });
    this.#envelopes.set(secret.arn, envelopes);
    return { ...secret, versions };
  }
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a === b) return true;
  return a.kind === 'string'
    ? b.kind === 'string' && a.text === b.text
    : b.kind === 'binary' && a.base64 === b.base64;
}
