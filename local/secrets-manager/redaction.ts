import { SecretRegistry } from '../../shared/logging/redaction.js';
import type { SecretRecord } from './model.js';

/** What replaces a secret value in text the twin shows or stores. */
export const REDACTED = '[REDACTED]';

/** Shorter strings are too likely to be ordinary words to redact. */
const MIN_LENGTH = 4;

function leaves(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) leaves(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) leaves(item, out);
  }
}

/**
 * Every value of a secret that must not appear in text: each version's whole value and, for
 * JSON values, every string inside it (a function may quote just the `password`).
 */
export function secretValuesOf(secret: SecretRecord): string[] {
  const values: string[] = [];
  for (const version of secret.versions) {
    const value = version.value;
    if (!value) continue;
    if (value.kind === 'binary') {
      values.push(value.base64, Buffer.from(value.base64, 'base64').toString('hex'));
      continue;
    }
    values.push(value.text);
    try {
      leaves(JSON.parse(value.text) as unknown, values);
    } catch {
      // not JSON: the whole text is the value
    }
  }
  return values;
}

/**
 * V8's `JSON.parse` errors quote up to ten characters of the text they failed on
 * (`Unexpected token 'x', "xK9mP2vL8q"... is not valid JSON`). A rotation function parses
 * secret values, so that quote is a fragment of one, which whole-value redaction cannot
 * find: the quoted part is always replaced.
 */
export function redactJsonParseQuotes(text: string): string {
  return text.replace(
    /(Unexpected token '.', )(.*?)( is not valid JSON)/gsu,
    (_whole, head: string, _quote: string, tail: string) => `${head}${REDACTED}${tail}`,
  );
}

/**
 * Replaces every occurrence of the given values, longest first, with {@link REDACTED}: as
 * they are, and JSON-escaped, URL-encoded, SQL-escaped or base64-encoded (a function may quote
 * a connection URL or a JSON document), with the functions' own scrubber.
 */
export function redactValues(text: string, values: readonly string[]): string {
  const registry = new SecretRegistry();
  for (const value of values) if (value.length >= MIN_LENGTH) registry.register(value);
  return registry.scrub(text);
}
