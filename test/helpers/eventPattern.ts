/**
 * EventBridge's event-pattern matching, for the parts of the grammar a rule in this project
 * may use (EventBridge User Guide, "Event patterns" and "Content filtering"): a pattern is an
 * object whose leaves are arrays of alternatives; an event matches when, for every field of
 * the pattern, the event's value (or any element of an array value) equals one alternative.
 * Alternatives may also be `{ prefix }`, `{ suffix }`, `{ "anything-but": ... }`,
 * `{ exists }`, or `{ "equals-ignore-case" }`. Anything else throws, so a rule that outgrows
 * this matcher fails its test loudly rather than matching by accident.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new Error('An event pattern is a JSON object');
  if (!isObject(event)) return false;
  for (const [key, expected] of Object.entries(pattern)) {
    const actual = event[key];
    if (Array.isArray(expected)) {
      if (!matchesAlternatives(expected, actual)) return false;
    } else if (isObject(expected)) {
      if (!matchesEventPattern(expected, actual)) return false;
    } else {
      throw new Error(`Pattern field ${key} must be an array or an object`);
    }
  }
  return true;
}

function matchesAlternatives(alternatives: unknown[], actual: unknown): boolean {
  const values = Array.isArray(actual) ? actual : [actual];
  return alternatives.some((alternative) => {
    if (isObject(alternative)) return matchesOperator(alternative, actual, values);
    return actual !== undefined && values.some((value) => value === alternative);
  });
}

function matchesOperator(
  operator: Record<string, unknown>,
  actual: unknown,
  values: unknown[],
): boolean {
  const [name, argument] = Object.entries(operator)[0] ?? [];
  const strings = values.filter((v): v is string => typeof v === 'string');
  switch (name) {
    case 'exists':
      return argument === (actual !== undefined);
    case 'prefix':
      return strings.some((v) => v.startsWith(String(argument)));
    case 'suffix':
      return strings.some((v) => v.endsWith(String(argument)));
    case 'equals-ignore-case':
      return strings.some((v) => v.toLowerCase() === String(argument).toLowerCase());
    case 'anything-but': {
      if (actual === undefined) return false;
      const excluded = Array.isArray(argument) ? argument : [argument];
      return values.every((v) => !excluded.includes(v));
    }
    default:
      throw new Error(`Event pattern operator ${String(name)} is not supported by this matcher`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
