/**
 * Reads a value at a simple dotted path (`data.key`, `items.0.id`, `data[0].id`) from a
 * parsed JSON body. Deliberately not JSONPath: provider declarations only need to point at
 * one field, and a tiny grammar is easy to validate at configuration time.
 */
export function readJsonPath(root: unknown, path: string): unknown {
  if (path === '' || path === '$') return root;
  let node: unknown = root;
  for (const segment of splitJsonPath(path)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(segment)] : (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** The segments of a path; `a[0].b` and `a.0.b` are the same path. */
export function splitJsonPath(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((segment) => segment !== '');
}

/** True when `path` is a path {@link readJsonPath} understands. */
export function isValidJsonPath(path: unknown): path is string {
  return (
    typeof path === 'string' &&
    /^(\$|[A-Za-z0-9_$-]+(\[\d+\])*(\.[A-Za-z0-9_$-]+(\[\d+\])*)*)$/.test(path)
  );
}
