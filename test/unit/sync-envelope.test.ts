import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  EnvelopeError,
  envelopeContext,
  openEnvelope,
  parseEnvelope,
  sealEnvelope,
} from '../../shared/sync/envelope.js';
import { randomPassword } from '../helpers/credentials.js';

const meta = { $metadata: {} };
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** KMS as far as envelopes use it; hands out copies of one data key and keeps what it gave. */
function fakeKms() {
  const kms = new KMSClient({ region: 'us-east-1' });
  const mock = mockClient(kms);
  const dataKey = randomBytes(32);
  const blob = randomBytes(48);
  const handedOut: Uint8Array[] = [];
  const give = () => {
    const copy = new Uint8Array(dataKey);
    handedOut.push(copy);
    return copy;
  };
  mock
    .on(GenerateDataKeyCommand)
    .callsFake(() => ({ ...meta, KeyId: KEY_ARN, Plaintext: give(), CiphertextBlob: blob }));
  mock.on(DecryptCommand).callsFake(() => ({ ...meta, KeyId: KEY_ARN, Plaintext: give() }));
  return { kms, mock, handedOut };
}

describe('envelope encryption', () => {
  it('round-trips a value, binds the data key to its object, and zeroes every plaintext key', async () => {
    // Prepare
    const { kms, mock, handedOut } = fakeKms();
    const value = randomPassword();
    const context = envelopeContext('acme', 'db.envelope');
    // Act
    const envelope = await sealEnvelope(kms, 'alias/acme', context, value);
    const opened = await openEnvelope(kms, parseEnvelope(JSON.stringify(envelope)), context);
    // Assess
    expect(opened).toBe(value);
    expect(JSON.stringify(envelope).includes(value)).toBe(false);
    expect(envelope).toMatchObject({ v: 1, alg: 'AES-256-GCM', kmsKeyId: KEY_ARN });
    expect(mock.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input).toEqual({
      KeyId: 'alias/acme',
      KeySpec: 'AES_256',
      EncryptionContext: { 'rotator:s3-object': 'acme/db.envelope' },
    });
    expect(mock.commandCalls(DecryptCommand)[0]?.args[0].input.EncryptionContext).toEqual(context);
    expect(handedOut).toHaveLength(2);
    for (const key of handedOut) expect(key.every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a tampered ciphertext and a document that is not an envelope, without the value', async () => {
    const { kms } = fakeKms();
    const value = randomPassword();
    const context = envelopeContext('acme', 'db.envelope');
    const envelope = await sealEnvelope(kms, 'alias/acme', context, value);
    const bytes = Buffer.from(envelope.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const error = await openEnvelope(
      kms,
      { ...envelope, ciphertext: bytes.toString('base64') },
      context,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvelopeError);
    expect((error as Error).message.includes(value)).toBe(false);
    expect(() => parseEnvelope('{"v":2}')).toThrow(EnvelopeError);
    expect(() => parseEnvelope(JSON.stringify({ ...envelope, iv: undefined }))).toThrow(
      'The envelope\'s field "iv" is missing',
    );
  });
});
