import { apiKeyKind } from '../strategies/apikey/kind.js';
import { exampleKind } from '../strategies/example/kind.js';
import { mysqlKind } from '../strategies/mysql/kind.js';
import { postgresKind } from '../strategies/postgres/kind.js';
import { redisKind } from '../strategies/redis/kind.js';
import type { CredentialKind } from './CredentialKind.js';

/**
 * Every credential kind rotator ships, one line each: the operator CLI finds kinds here,
 * the conformance suite runs over them, and adding a kind means adding its line.
 */
// biome-ignore format: one line per kind, so that adding a kind adds one line.
export const KINDS: readonly CredentialKind[] = [
  postgresKind,
  mysqlKind,
  redisKind,
  apiKeyKind,
  exampleKind,
];

/** The kind registered under `name`, or `undefined`. */
export function kindNamed(name: string): CredentialKind | undefined {
  return KINDS.find((kind) => kind.name === name);
}

/** Which kind a secret is, and why (for an operator's explanation). */
export interface KindMatch {
  readonly kind: CredentialKind | undefined;
  readonly because: string;
}

/**
 * Decides a secret's kind: by its own fields first (a database `engine`, say), then by the
 * name of the function that rotates it (`<stack>-postgres`).
 */
export function classifySecret(
  fields: Readonly<Record<string, unknown>> | undefined,
  rotationFunctionName: string | undefined,
): KindMatch {
  const engine = typeof fields?.engine === 'string' ? fields.engine : undefined;
  const strong = (kind: CredentialKind) => fields !== undefined && kind.recognise(fields);
  // A kind's own field (engine) beats a function name; a function name beats a loose field.
  for (const kind of KINDS) {
    const because = fields && engine !== undefined ? strong(kind) : undefined;
    if (because) return { kind, because };
  }
  const name = rotationFunctionName?.toLowerCase() ?? '';
  for (const kind of KINDS) {
    if (kind.functionNameHints.some((hint) => name.includes(hint))) {
      return { kind, because: `rotator ${name}` };
    }
  }
  for (const kind of KINDS) {
    const because = strong(kind);
    if (because) return { kind, because };
  }
  return {
    kind: undefined,
    because: engine ? `unknown engine "${engine}"` : 'no engine field and an unknown rotator',
  };
}
