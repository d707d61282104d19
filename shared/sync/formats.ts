import { RotationError } from '../errors.js';

/**
 * Replacing one field of a file while keeping every other byte's meaning: a JSON document
 * addressed by a pointer, and `.env` lines addressed by a variable name. Errors name the
 * place, never a value.
 */

/** The file a target points into does not have the shape its format needs. */
export class TargetFormatError extends RotationError {}

function segments(pointer: string): string[] {
  return pointer.split('/').slice(1);
}

/** The string at `pointer` in a JSON document, or `undefined` when absent or not a string. */
export function jsonFieldOf(text: string, pointer: string): string | undefined {
  let node: unknown = parseDocument(text);
  for (const segment of segments(pointer)) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return typeof node === 'string' ? node : undefined;
}

function parseDocument(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TargetFormatError('The object is not a JSON document');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TargetFormatError('The object is not a JSON object');
  }
  return doc as Record<string, unknown>;
}

/**
 * `text` (a JSON document, or `undefined` for a new one) with the string at `pointer` set to
 * `value`; objects on the way are created. Other fields keep their values and order; the
 * document is written with the indentation it had (two spaces for a new one).
 */
export function withJsonField(text: string | undefined, pointer: string, value: string): string {
  const doc = text === undefined ? {} : parseDocument(text);
  const path = segments(pointer);
  let node: Record<string, unknown> = doc;
  for (const [i, segment] of path.entries()) {
    if (i === path.length - 1) {
      node[segment] = value;
      break;
    }
    const next = node[segment];
    if (next === undefined) {
      node[segment] = {};
    } else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new TargetFormatError(
        `The JSON pointer ${pointer} passes through /${path.slice(0, i + 1).join('/')}, which is not an object`,
      );
    }
    node = node[segment] as Record<string, unknown>;
  }
  const indent = text === undefined ? 2 : (/^\{\s*\n([ \t]+)/.exec(text)?.[1] ?? '');
  const trailing = text === undefined || text.endsWith('\n') ? '\n' : '';
  return `${JSON.stringify(doc, null, indent)}${trailing}`;
}

const ENV_LINE = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$/;

function unquote(raw: string): string {
  const value = raw.trim();
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) return value.slice(1, -1);
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    return value
      .slice(1, -1)
      .replace(/\\(["\\nr$`])/g, (_, c: string) =>
        c === 'n' ? '\n' : c === 'r' ? '\r' : (c as string),
      );
  }
  return value;
}

/** A value as a `.env` right-hand side: bare when safe, else double-quoted with escapes. */
function quote(value: string): string {
  if (/^[A-Za-z0-9_./:@+=,-]*$/.test(value)) return value;
  return `"${value
    .replace(/(["\\$`])/g, '\\$1')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')}"`;
}

/** The value of `variable` in `.env` text (first assignment), or `undefined`. */
export function envValueOf(text: string, variable: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = ENV_LINE.exec(line.replace(/\r$/, ''));
    if (match?.[2] === variable) return unquote(match[4] ?? '');
  }
  return undefined;
}

/**
 * `.env` text with the line assigning `variable` replaced (every assignment of it, so no
 * later one overrides), or appended when there is none; comments and other lines stay.
 */
export function withEnvValue(text: string | undefined, variable: string, value: string): string {
  const lines = text === undefined || text === '' ? [] : text.split('\n');
  let found = false;
  const out = lines.map((line) => {
    const cr = line.endsWith('\r') ? '\r' : '';
    const match = ENV_LINE.exec(line.replace(/\r$/, ''));
    if (match?.[2] !== variable) return line;
    found = true;
    return `${match[1]}${variable}${match[3]}${quote(value)}${cr}`;
  });
  if (!found) {
    if (out.length > 0 && out[out.length - 1] === '') out.pop();
    out.push(`${variable}=${quote(value)}`, '');
  }
  return out.join('\n');
}
