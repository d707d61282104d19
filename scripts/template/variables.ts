import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { YAMLMap } from 'yaml';
import { keysOf, mapAt, OUTPUT_FILE, type TemplateSources } from './sources.js';

/**
 * Environment variables a function's code reads (`env.NAME`, `env['NAME']` in every file its
 * handler imports, transitively) that the template does not set for it. `AWS_*` variables
 * are Lambda's own or the local twin's. A name read through a variable (`env[name]`) is not
 * seen.
 */
export function unsetVariableProblems(sources: TemplateSources): string[] {
  const globals = keysOf(mapAt(sources.base, ['Globals', 'Function', 'Environment', 'Variables']));
  const problems: string[] = [];
  for (const fn of sources.functions) {
    const environment = (fn.doc.contents as YAMLMap).get('environment') as YAMLMap | undefined;
    const set = new Set([
      ...globals,
      'POWERTOOLS_SERVICE_NAME',
      ...(environment ? keysOf(environment) : []),
    ]);
    for (const [variable, file] of variablesRead(join(sources.root, fn.handler))) {
      if (set.has(variable) || variable.startsWith('AWS_')) continue;
      problems.push(
        `functions/${fn.name} reads ${variable} (${relative(sources.root, file)}), which ${OUTPUT_FILE} does not set for ${fn.id}Function: add it under environment: in ${fn.declaration}`,
      );
    }
  }
  return problems;
}

/** Every `env.NAME` read in `entry` and the files it imports, with the first file reading it. */
function variablesRead(entry: string): Map<string, string> {
  const read = new Map<string, string>();
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    // Comments show examples of other code's environment; only statements count.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const [, path] of code.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      pending.push(resolve(dirname(file), (path ?? '').replace(/\.js$/, '.ts')));
    }
    for (const match of code.matchAll(
      /\benv(?:\.([A-Z][A-Z0-9_]*)|\[\s*'([A-Z][A-Z0-9_]*)'\s*\])/g,
    )) {
      const variable = match[1] ?? match[2] ?? '';
      if (!read.has(variable)) read.set(variable, file);
    }
  }
  return read;
}
