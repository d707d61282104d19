import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// The framing of the state file's journal: after the snapshot line, one line per commit, each
// the base64 of `iv (12) ‖ tag (16) ‖ AES-256-GCM ciphertext`. A record is sealed under a key
// derived from the master key, with the journal's id and the record's sequence number as
// additional authenticated data: a record cannot be altered, moved to another position or
// spliced in from another file without failing to open. Lines end with "\n", which is the
// last byte of every append, so a record torn by a crash mid-write is exactly an unterminated
// last line.

const IV_BYTES = 12;
const TAG_BYTES = 16;
const NEWLINE = 0x0a;

/** Derives the key that seals journal records from the master key (HKDF-SHA256). */
export function journalKey(masterKey: Buffer): Buffer {
  return Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), 'rotator-local-secrets-manager journal', 32),
  );
}

/** A fresh random journal id, written in the snapshot the journal continues. */
export function newJournalId(): string {
  return randomBytes(12).toString('base64url');
}

function aad(journalId: string, sequence: number): Buffer {
  return Buffer.from(`rotator-local-secrets-manager/journal\n${journalId}\n${sequence}`, 'utf8');
}

/** Seals one record (`sequence` counts from 1 after the snapshot); returns the line to append. */
export function sealRecord(
  key: Buffer,
  journalId: string,
  sequence: number,
  payload: string,
): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(journalId, sequence));
  const data = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]);
  return `${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}\n`;
}

/** Opens a record sealed by {@link sealRecord}; throws when it was altered or misplaced. */
export function openRecord(key: Buffer, journalId: string, sequence: number, line: Buffer): string {
  const bytes = Buffer.from(line.toString('latin1'), 'base64');
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('journal record too short');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(aad(journalId, sequence));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([
    decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}

/** A state file split into its snapshot line and its complete journal lines. */
export interface SplitFile {
  snapshot: Buffer;
  /** Complete (newline-terminated) records, in order, without their newline. */
  records: Buffer[];
  /** Bytes of an unterminated last line: a record torn by a crash mid-append (0 if none). */
  tornBytes: number;
}

/**
 * Splits a state file. The snapshot is the first line (a file without a newline is a snapshot
 * alone, as written by the first format); an unterminated last line after it is torn.
 */
export function splitStateFile(data: Buffer): SplitFile {
  const end = data.indexOf(NEWLINE);
  if (end < 0) return { snapshot: data, records: [], tornBytes: 0 };
  const records: Buffer[] = [];
  let offset = end + 1;
  while (offset < data.length) {
    const next = data.indexOf(NEWLINE, offset);
    if (next < 0)
      return { snapshot: data.subarray(0, end), records, tornBytes: data.length - offset };
    records.push(data.subarray(offset, next));
    offset = next + 1;
  }
  return { snapshot: data.subarray(0, end), records, tornBytes: 0 };
}
