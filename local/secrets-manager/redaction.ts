import { REDACTED, SecretValues, sensitiveLeaves } from '../../shared/logging/redaction.js';
import type { SecretRecord } from './model.js';

/**
 * Every value of a secret that must not appear in text: each version's whole value and, for
 * JSON values, the strings under secret-meaning keys (`password`, `apiKey`, `token`, … at any
 * depth: the same fields the rotation functions scrub), since a function may quote just the
 * `password`. Hosts, engines, ports, user names and modes are not secret and stay readable:
 * they are the diagnostics a failed rotation's message is for. A binary value counts in
 * base64 and in hex.
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
    values.push(value.text, ...sensitiveLeaves(value.text));
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
 * Replaces every occurrence of the given values with {@link REDACTED}: as they are, and
 * JSON-escaped, URL-encoded, SQL-escaped or base64-encoded (a function may quote a connection
 * URL or a JSON document), with the functions' own scrubber (one linear scan of the text,
 * whatever the number and length of the values).
 */
export function redactValues(text: string, values: readonly string[]): string {
  const set = new SecretValues();
  for (const value of values) set.add(value);
  return set.scrub(text);
}
