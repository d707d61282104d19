/**
 * Writes template.yaml from template.base.yaml (the shared part), template.function.yaml (the
 * resources of one function) and one functions/<name>/function.yaml per function: see
 * docs/template.md. `npm run template` writes the file; `npm run template -- --check` only
 * says whether it is current. test/unit/template-declarations.test.ts runs the same checks
 * and generation in memory.
 *
 * Why a generator and not `AWS::LanguageExtensions` `Fn::ForEach`: the functions differ in
 * their environment variables (keys, not only values), parameters, conditions and IAM
 * statements, which a loop over names cannot express; and the deployed template stays a plain
 * SAM template that cfn-lint, `sam validate` and the tests read as it is.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTemplate } from './template/generate.js';
import { OUTPUT_FILE, readTemplateSources, TemplateDeclarationError } from './template/sources.js';
import { unsetVariableProblems } from './template/variables.js';

function main(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const sources = readTemplateSources(root);
  const problems = [...sources.problems];
  if (problems.length === 0) problems.push(...unsetVariableProblems(sources));
  if (problems.length > 0) {
    process.stderr.write(`${new TemplateDeclarationError(problems).message}\n`);
    process.exit(1);
  }
  const text = generateTemplate(root);
  const path = join(root, OUTPUT_FILE);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const names = sources.functions.map((fn) => fn.name).join(', ');
  if (process.argv.includes('--check')) {
    if (current !== text) {
      process.stderr.write(`${OUTPUT_FILE} is stale: run npm run template\n`);
      process.exit(1);
    }
    process.stdout.write(`${OUTPUT_FILE} is current (${names})\n`);
    return;
  }
  writeFileSync(path, text);
  const lines = text.split('\n').length - 1;
  process.stdout.write(`${OUTPUT_FILE}: ${lines} lines, functions ${names}\n`);
}

main();
