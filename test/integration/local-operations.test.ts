import { readFileSync } from 'node:fs';
import * as sdk from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import {
  SUPPORTED_OPERATIONS,
  UNSUPPORTED_OPERATIONS,
} from '../../local/secrets-manager/server.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();

/** Every operation of the SDK's Secrets Manager client, from its exported `*Command` classes. */
const SDK_OPERATIONS = Object.keys(sdk)
  .filter((name) => /^[A-Z][A-Za-z]+Command$/.test(name))
  .map((name) => name.slice(0, -'Command'.length))
  .sort();

const differences = (() => {
  const doc = readFileSync(new URL('../../docs/local-twin.md', import.meta.url), 'utf8');
  const section = doc.split('## Differences from AWS')[1] ?? '';
  return section.split(/\n## /)[0] ?? '';
})();

type AnyCommand = new (input: object) => Parameters<sdk.SecretsManagerClient['send']>[0];

function commandFor(operation: string): AnyCommand {
  return (sdk as unknown as Record<string, AnyCommand>)[`${operation}Command`] as AnyCommand;
}

async function errorName(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { name?: string }).name;
  }
}

describe("local Secrets Manager: every operation of the SDK's client is implemented or listed", () => {
  it('finds the operations of the installed SDK', () => {
    expect(SDK_OPERATIONS).toContain('GetSecretValue');
    expect(SDK_OPERATIONS.length).toBeGreaterThanOrEqual(23);
  });

  it.each(SDK_OPERATIONS)('%s is implemented, or listed as unsupported, not both', (operation) => {
    const implemented = SUPPORTED_OPERATIONS.includes(operation);
    const unsupported = UNSUPPORTED_OPERATIONS.includes(operation);
    expect(
      implemented !== unsupported,
      `${operation}: implemented=${implemented}, listed as unsupported=${unsupported}`,
    ).toBe(true);
  });

  it('lists each unsupported operation, and the error it returns, in "Differences from AWS"', () => {
    expect(differences).toContain('UnsupportedOperationException');
    for (const operation of UNSUPPORTED_OPERATIONS) expect(differences).toContain(operation);
  });

  it('names no operation the SDK does not have', () => {
    for (const operation of [...SUPPORTED_OPERATIONS, ...UNSUPPORTED_OPERATIONS]) {
      expect(SDK_OPERATIONS).toContain(operation);
    }
  });

  it('answers each unsupported operation with UnsupportedOperationException, and dispatches each implemented one', async () => {
    const twin = await start();
    for (const operation of SDK_OPERATIONS) {
      const Command = commandFor(operation);
      const name = await errorName(twin.client.send(new Command({})));
      if (UNSUPPORTED_OPERATIONS.includes(operation)) {
        expect(name, operation).toBe('UnsupportedOperationException');
      } else {
        // An empty request: a validation error at most, never "no such operation".
        expect(['UnsupportedOperationException', 'UnknownOperationException']).not.toContain(name);
      }
    }
  });
});
