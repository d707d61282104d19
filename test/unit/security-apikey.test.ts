import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretFormatError } from '../../shared/errors.js';
import { ProviderCallError } from '../../shared/strategies/apikey/errors.js';
import { HttpKeyProvider } from '../../shared/strategies/apikey/HttpKeyProvider.js';
import {
  type HttpProviderConfig,
  parseHttpProviderConfig,
} from '../../shared/strategies/apikey/httpDeclaration.js';

const ALLOWED = 'keys.example.com';

/** A declaration whose origin is allowed but whose mint path extends the host name. */
const declaration = (mintPath: string) => ({
  type: 'http',
  baseUrl: `https://${ALLOWED}`,
  admin: { secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin' },
  capabilities: { maxLiveKeys: 3 },
  mint: { path: mintPath, keyPath: 'key', idPath: 'id' },
  test: { path: '/whoami' },
  revoke: { path: '/keys/{id}' },
});

describe('HTTP provider: the admin credential never leaves provider.baseUrl', () => {
  it.each(['.attacker.example/keys', '-x.attacker.example/keys', ':8443@attacker.example/keys'])(
    'refuses the call path %s, which would move the request to another host',
    (path) => {
      expect(() => parseHttpProviderConfig(declaration(path), [ALLOWED])).toThrow(
        SecretFormatError,
      );
    },
  );

  it('sends no request (and no credential) outside baseUrl even for a config built by hand', async () => {
    // Prepare
    const credential = randomBytes(24).toString('base64url');
    const seen: string[] = [];
    const fetchImpl = (async (input: string | URL | Request) => {
      seen.push(String(input));
      return new Response(JSON.stringify({ key: randomBytes(16).toString('hex'), id: 'k1' }), {
        status: 200,
      });
    }) as typeof fetch;
    const valid = parseHttpProviderConfig(declaration('/keys'), [ALLOWED]);
    const config: HttpProviderConfig = {
      ...valid,
      mint: { ...valid.mint, path: '.attacker.example/keys' },
    };
    const provider = new HttpKeyProvider({
      config,
      fetch: fetchImpl,
      adminCredential: async () => credential,
    });

    // Act
    const outcome = await provider
      .mint({ label: 'l', idempotencyKey: 't', signal: new AbortController().signal })
      .catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(ProviderCallError);
    expect(seen.filter((url) => new URL(url).hostname !== ALLOWED)).toEqual([]);
  });
});
