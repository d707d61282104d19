/**
 * Reads what template.yaml is generated from (scripts/template.ts; docs/template.md): the base,
 * and one functions/<name>/function.yaml per functions/<name>/handler.ts, and lists every
 * problem with a message naming the file to change and what to write there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';

/** The files the template is generated from, relative to the repository root. */
export const BASE_FILE = 'template.base.yaml';
export const FUNCTION_FILE = 'template.function.yaml';
export const DECLARATION_FILE = 'function.yaml';
export const OUTPUT_FILE = 'template.yaml';

/** Keys of a declaration; anything else is refused, naming the file. */
const DECLARATION_KEYS = [
  'label',
  'description',
  'parameterGroup',
  'memorySize',
  'timeout',
  'environment',
  'statements',
  'adminSecrets',
];
/** Keys of an environment variable that declares its own parameter: ours, then CloudFormation's. */
export const PARAMETER_KEYS = ['parameter', 'unsetWhenEmpty'];
const CFN_PARAMETER_KEYS = [
  'Type',
  'Default',
  'AllowedValues',
  'AllowedPattern',
  'MinValue',
  'MaxValue',
  'MinLength',
  'MaxLength',
  'NoEcho',
  'Description',
  'ConstraintDescription',
];
/** One function: its folder, logical-id prefix and parsed declaration. */
export interface FunctionSource {
  /** Folder name under functions/, the bundle dist/<name> and the function name suffix. */
  readonly name: string;
  /** Logical-id prefix: `postgres` gives PostgresRole, PostgresFunction... */
  readonly id: string;
  readonly handler: string;
  readonly declaration: string;
  readonly doc: Document;
}

/** Everything the template is made of, and what is wrong with it. */
export interface TemplateSources {
  readonly root: string;
  readonly base: Document;
  readonly functions: readonly FunctionSource[];
  /** One message per problem, each naming the file to change and what to write there. */
  readonly problems: readonly string[];
}

/** Thrown by {@link generateTemplate} when a declaration is missing or wrong. */
export class TemplateDeclarationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`cannot generate ${OUTPUT_FILE}:\n- ${problems.join('\n- ')}`);
    this.name = 'TemplateDeclarationError';
  }
}

/** `api-key` → `ApiKey`: the logical-id prefix of a function folder. */
function logicalIdPrefix(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function parseYaml(root: string, file: string, problems: string[]): Document {
  const doc = parseDocument(readFileSync(join(root, file), 'utf8'));
  // CloudFormation's short forms (!Ref, !If...) are tags the yaml library does not know: it
  // keeps them, which is what we want, and warns.
  for (const error of doc.errors) problems.push(`${file}: ${error.message}`);
  return doc;
}

/** The mapping at `path` of the base. */
export function mapAt(doc: Document, path: readonly string[]): YAMLMap {
  const node = doc.getIn(path, true);
  if (!isMap(node)) throw new Error(`${BASE_FILE}: ${path.join('.')} must be a mapping`);
  return node;
}

/** The keys of a mapping, as strings. */
export function keysOf(map: YAMLMap): string[] {
  return map.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key));
}

/** Reads the base and every declaration, and lists what is missing or wrong. */
export function readTemplateSources(root: string): TemplateSources {
  const problems: string[] = [];
  const base = parseYaml(root, BASE_FILE, problems);
  const functionsDir = join(root, 'functions');
  const folders = readdirSync(functionsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const functions: FunctionSource[] = [];
  for (const name of folders) {
    const handler = `functions/${name}/handler.ts`;
    const declaration = `functions/${name}/${DECLARATION_FILE}`;
    const hasHandler = existsSync(join(root, handler));
    const hasDeclaration = existsSync(join(root, declaration));
    if (!hasHandler && !hasDeclaration) continue;
    if (!hasDeclaration) {
      problems.push(
        `${handler} has no declaration: add ${declaration} (label, description, environment; docs/template.md), then run npm run template`,
      );
      continue;
    }
    if (!hasHandler) {
      problems.push(
        `${declaration} declares a function whose handler ${handler} does not exist: add it (export const handler) or remove the declaration`,
      );
      continue;
    }
    if (!/^[a-z][a-z0-9-]*$/.test(name)) {
      problems.push(
        `functions/${name}: a function folder name is lower-case letters, digits and "-" (it becomes dist/${name} and the function name)`,
      );
      continue;
    }
    const doc = parseYaml(root, declaration, problems);
    functions.push({ name, id: logicalIdPrefix(name), handler, declaration, doc });
  }
  if (problems.length === 0) problems.push(...declarationProblems(base, functions));
  return { root, base, functions, problems };
}

function declarationProblems(base: Document, functions: readonly FunctionSource[]): string[] {
  const context: EnvironmentContext = {
    globalVariables: new Set(
      keysOf(mapAt(base, ['Globals', 'Function', 'Environment', 'Variables'])),
    ),
    parameterOwners: new Map(keysOf(mapAt(base, ['Parameters'])).map((name) => [name, BASE_FILE])),
  };
  return [
    ...new Set(
      functions.flatMap((fn) => {
        const top = fn.doc.contents;
        if (!isMap(top)) {
          return [`${fn.declaration}: must be a mapping with at least label and description`];
        }
        return [...topLevelProblems(fn.declaration, top), ...environmentProblems(fn, top, context)];
      }),
    ),
  ];
}

function topLevelProblems(file: string, top: YAMLMap): string[] {
  const problems = keysOf(top)
    .filter((key) => !DECLARATION_KEYS.includes(key))
    .map((key) => `${file}: unknown key "${key}" (known: ${DECLARATION_KEYS.join(', ')})`);
  const text = (key: string, what: string) => {
    if (typeof top.get(key) !== 'string' || top.get(key) === '') {
      problems.push(`${file}: ${key} is missing: ${what}`);
    }
  };
  text('label', 'a short name, as in "Execution role of the <label> rotation function"');
  text('description', "a string: the Lambda function's Description");
  for (const key of ['memorySize', 'timeout']) {
    const value = top.get(key);
    if (value !== undefined && !(Number.isInteger(value) && Number(value) > 0)) {
      problems.push(`${file}: ${key} must be a whole number (MB or seconds)`);
    }
  }
  const adminSecrets = top.get('adminSecrets');
  if (adminSecrets !== undefined && (typeof adminSecrets !== 'string' || adminSecrets === '')) {
    problems.push(
      `${file}: adminSecrets must say which other secrets the function reads (e.g. "admin secrets named by a secret's masterarn")`,
    );
  }
  const statements = top.get('statements', true);
  if (statements !== undefined && !isSeq(statements)) {
    problems.push(`${file}: statements must be a list of IAM policy statements`);
  }
  const environment = top.get('environment', true);
  if (environment !== undefined && !isMap(environment)) {
    problems.push(`${file}: environment must be a mapping of variable names to values`);
  }
  return problems;
}

/** What every declaration's environment is checked against; parameters are added as seen. */
interface EnvironmentContext {
  readonly globalVariables: ReadonlySet<string>;
  /** Parameter logical id → the file declaring it. */
  readonly parameterOwners: Map<string, string>;
}

function environmentProblems(
  fn: FunctionSource,
  top: YAMLMap,
  { globalVariables, parameterOwners }: EnvironmentContext,
): string[] {
  const file = fn.declaration;
  const environment = top.get('environment', true);
  if (!isMap(environment)) return [];
  const problems: string[] = [];
  for (const pair of environment.items) {
    const variable = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const where = `${file}: environment.${variable}`;
    if (!/^[A-Z][A-Z0-9_]*$/.test(variable)) {
      problems.push(`${where}: a variable name is UPPER_SNAKE_CASE`);
    }
    if (globalVariables.has(variable) || variable === 'POWERTOOLS_SERVICE_NAME') {
      problems.push(`${where}: already set for every function by ${BASE_FILE} Globals`);
    }
    const value = pair.value;
    // A value (!Ref Shared, a literal) is used as it is; a plain mapping declares a parameter.
    if (!isMap(value) || value.tag) continue;
    const parameter = value.get('parameter');
    if (typeof parameter !== 'string' || !/^[A-Za-z0-9]+$/.test(parameter)) {
      problems.push(
        `${where}: a mapping declares the variable's template parameter: add parameter: <LogicalId> (e.g. ${fn.id}Mode), Type and Description`,
      );
      continue;
    }
    for (const key of keysOf(value)) {
      if (!PARAMETER_KEYS.includes(key) && !CFN_PARAMETER_KEYS.includes(key)) {
        problems.push(
          `${where}: unknown key "${key}" (known: ${[...PARAMETER_KEYS, ...CFN_PARAMETER_KEYS].join(', ')})`,
        );
      }
    }
    for (const key of ['Type', 'Description']) {
      if (!value.has(key)) problems.push(`${where}: the parameter needs ${key}`);
    }
    const owner = parameterOwners.get(parameter);
    if (owner) problems.push(`${where}: parameter ${parameter} is already declared in ${owner}`);
    parameterOwners.set(parameter, file);
    if (typeof top.get('parameterGroup') !== 'string') {
      problems.push(
        `${file}: parameterGroup is missing: the console group of its parameters (e.g. Databases)`,
      );
    }
  }
  return problems;
}
