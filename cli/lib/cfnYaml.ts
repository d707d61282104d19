import { parse, type Tags } from 'yaml';

/**
 * CloudFormation's short-form intrinsic functions. `!Ref` and `!Condition` become `{ Ref }`
 * and `{ Condition }`; `!GetAtt A.B` becomes `{ 'Fn::GetAtt': ['A', 'B'] }`; every other
 * `!Name x` becomes `{ 'Fn::Name': x }`, which is the long form CloudFormation itself uses.
 */
export const CFN_INTRINSICS = [
  'Ref',
  'Condition',
  'Sub',
  'GetAtt',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Join',
  'Select',
  'Split',
  'FindInMap',
  'Base64',
  'Cidr',
  'ImportValue',
  'GetAZs',
  'Transform',
  'ToJsonString',
  'Length',
  // Rule functions (template Rules only).
  'Contains',
  'EachMemberEquals',
  'EachMemberIn',
  'RefAll',
  'ValueOf',
  'ValueOfAll',
] as const;

function longForm(name: string, value: unknown): Record<string, unknown> {
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${name}`]: value };
}

/** The `yaml` custom tags for every CloudFormation short form, on scalars, sequences and maps. */
export function cloudFormationTags(): Tags {
  return CFN_INTRINSICS.flatMap((name) =>
    (['scalar', 'seq', 'map'] as const).map((kind) => ({
      tag: `!${name}`,
      ...(kind === 'scalar' ? {} : { collection: kind }),
      resolve: (value: unknown) => {
        const plain =
          value !== null && typeof value === 'object' && 'toJSON' in value
            ? (value as { toJSON(): unknown }).toJSON()
            : value;
        return longForm(name, plain);
      },
    })),
  ) as Tags;
}

/**
 * Parses a CloudFormation/SAM YAML template into its JSON form (intrinsics in long form).
 *
 * @example
 * ```ts
 * const template = parseCloudFormationYaml(readFileSync('template.yaml', 'utf8'));
 * template.Resources.ExampleFunction.Properties.Role; // { 'Fn::GetAtt': ['ExampleRole', 'Arn'] }
 * ```
 */
export function parseCloudFormationYaml(text: string): CloudFormationTemplate {
  const doc = parse(text, { customTags: cloudFormationTags(), uniqueKeys: true }) as unknown;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TypeError('template is not a YAML mapping');
  }
  return doc as CloudFormationTemplate;
}

/** One resource of a template. */
export interface CloudFormationResource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  Properties?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The parts of a template that tooling reads. */
export interface CloudFormationTemplate {
  AWSTemplateFormatVersion?: string;
  Transform?: string | string[];
  Parameters?: Record<string, { Type: string; Default?: unknown; [key: string]: unknown }>;
  Conditions?: Record<string, unknown>;
  Globals?: Record<string, Record<string, unknown>>;
  Resources: Record<string, CloudFormationResource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** Thrown when {@link evaluateWithDefaults} meets an intrinsic it cannot resolve statically. */
export class UnresolvableIntrinsicError extends Error {
  constructor(what: string) {
    super(`cannot resolve ${what} from parameter defaults`);
    this.name = 'UnresolvableIntrinsicError';
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves a template value with every parameter at its default, or at the value given in
 * `given` (pseudo parameters such as `AWS::Region` go there too; lists for list parameters):
 * `Ref` to parameters, `Fn::If`/`Fn::Equals`/`Fn::Not`/`Fn::And`/`Fn::Or`,
 * `Condition`, `Fn::Join`, `Fn::Split`, `Fn::Sub` (with or without a variable map), and
 * `Fn::GetAtt` as a `<Id.Attr>`
 * placeholder. `AWS::NoValue` removes the key or item.
 * Used to check that a function starts with the environment the template gives it.
 */
export function evaluateWithDefaults(
  template: CloudFormationTemplate,
  value: unknown,
  given: Record<string, string | string[]> = {},
): unknown {
  const conditions = new Map<string, boolean>();
  const ref = (name: string): unknown => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (Object.hasOwn(given, name)) return given[name];
    const parameter = template.Parameters?.[name];
    if (!parameter) throw new UnresolvableIntrinsicError(`Ref ${name}`);
    const raw = parameter.Default ?? '';
    if (parameter.Type === 'CommaDelimitedList' || parameter.Type.startsWith('List<')) {
      return String(raw) === '' ? [''] : String(raw).split(',');
    }
    return String(raw);
  };
  const condition = (name: string): boolean => {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const definition = template.Conditions?.[name];
    if (definition === undefined) throw new UnresolvableIntrinsicError(`Condition ${name}`);
    const result = Boolean(resolve(definition));
    conditions.set(name, result);
    return result;
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve).filter((item) => item !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node as Record<string, unknown>);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined) {
      if (key === 'Ref') return ref(String(arg));
      if (key === 'Condition' && typeof arg === 'string') return condition(arg);
      if (key === 'Fn::If') {
        const [name, yes, no] = arg as [string, unknown, unknown];
        return resolve(condition(name) ? yes : no);
      }
      if (key === 'Fn::Equals') {
        const [a, b] = (arg as unknown[]).map(resolve);
        return JSON.stringify(a) === JSON.stringify(b);
      }
      if (key === 'Fn::Not') return !resolve((arg as unknown[])[0]);
      if (key === 'Fn::And') return (arg as unknown[]).every((c) => Boolean(resolve(c)));
      if (key === 'Fn::Or') return (arg as unknown[]).some((c) => Boolean(resolve(c)));
      if (key === 'Fn::Join') {
        const [sep, items] = arg as [string, unknown];
        const list = resolve(items);
        if (!Array.isArray(list)) throw new UnresolvableIntrinsicError('Fn::Join');
        return list.join(sep);
      }
      // Resources have no value before deployment: a readable placeholder is enough for checks.
      if (key === 'Fn::GetAtt' && Array.isArray(arg)) return `<${arg.join('.')}>`;
      if (key === 'Fn::Split') {
        const [sep, source] = arg as [string, unknown];
        const text = resolve(source);
        if (typeof text !== 'string') throw new UnresolvableIntrinsicError('Fn::Split');
        return text.split(sep);
      }
      if (key === 'Fn::Sub') {
        const [text, map] = typeof arg === 'string' ? [arg, {}] : (arg as [unknown, unknown]);
        if (typeof text !== 'string') throw new UnresolvableIntrinsicError('Fn::Sub');
        const variables = resolve(map) as Record<string, unknown>;
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          const resolved = Object.hasOwn(variables, name) ? variables[name] : ref(name);
          if (typeof resolved !== 'string') throw new UnresolvableIntrinsicError(`Sub ${name}`);
          return resolved;
        });
      }
      if (key.startsWith('Fn::')) throw new UnresolvableIntrinsicError(key);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = resolve(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };
  return resolve(value);
}
