import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCloudFormationYaml } from '../../cli/lib/cfnYaml.js';
import { generateTemplate } from '../../scripts/template/generate.js';
import {
  BASE_FILE,
  FUNCTION_FILE,
  OUTPUT_FILE,
  readTemplateSources,
  TemplateDeclarationError,
} from '../../scripts/template/sources.js';
import { unsetVariableProblems } from '../../scripts/template/variables.js';

const root = resolve(import.meta.dirname, '..', '..');

describe('template.yaml from functions/<name>/function.yaml', () => {
  it('has a declaration for every functions/<name>/handler.ts, and a handler for every declaration', () => {
    expect(readTemplateSources(root).problems).toEqual([]);
  });

  it("sets every environment variable a function's code reads", () => {
    expect(unsetVariableProblems(readTemplateSources(root))).toEqual([]);
  });

  it('is current: the committed file is what npm run template writes', () => {
    const committed = readFileSync(join(root, OUTPUT_FILE), 'utf8');
    expect(
      committed === generateTemplate(root),
      'template.yaml is stale: run npm run template',
    ).toBe(true);
  });
});

describe('what the template checks tell a newcomer adding a function', () => {
  let fixture: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };
  const problems = () => {
    const sources = readTemplateSources(fixture);
    return sources.problems.length > 0 ? sources.problems : unsetVariableProblems(sources);
  };

  beforeEach(() => {
    fixture = mkdtempSync(join(tmpdir(), 'rotator-template-'));
    for (const file of [BASE_FILE, FUNCTION_FILE])
      copyFileSync(join(root, file), join(fixture, file));
    // The base's example secret rotates with the example function: keep it.
    write('functions/example/handler.ts', 'export const handler = () => {};\n');
    copyFileSync(
      join(root, 'functions/example/function.yaml'),
      join(fixture, 'functions/example/function.yaml'),
    );
    write(
      'functions/widget/handler.ts',
      "import { widgetMode } from '../../shared/widget/mode.js';\nexport const handler = () => widgetMode();\n",
    );
    write(
      'shared/widget/mode.ts',
      '/** Reads `env.NOT_READ_IN_A_COMMENT`. */\nexport const widgetMode = (env = process.env) => env.WIDGET_MODE;\n',
    );
  });
  afterEach(() => {
    rmSync(fixture, { recursive: true, force: true });
  });

  it('names the declaration a new handler needs', () => {
    expect(problems()).toEqual([
      'functions/widget/handler.ts has no declaration: add functions/widget/function.yaml (label, description, environment; docs/template.md), then run npm run template',
    ]);
    expect(() => generateTemplate(fixture)).toThrow(TemplateDeclarationError);
  });

  it('names the handler a declaration lacks', () => {
    write('functions/widget/function.yaml', 'label: widget\ndescription: Rotates widgets\n');
    write('functions/gadget/function.yaml', 'label: gadget\ndescription: Rotates gadgets\n');
    expect(problems()).toEqual([
      'functions/gadget/function.yaml declares a function whose handler functions/gadget/handler.ts does not exist: add it (export const handler) or remove the declaration',
    ]);
  });

  it("names a variable the function's code reads that the declaration does not set", () => {
    write('functions/widget/function.yaml', 'label: widget\ndescription: Rotates widgets\n');
    expect(problems()).toEqual([
      'functions/widget reads WIDGET_MODE (shared/widget/mode.ts), which template.yaml does not set for WidgetFunction: add it under environment: in functions/widget/function.yaml',
    ]);
  });

  it('names each mistake in a declaration, with the key and what to write', () => {
    write(
      'functions/widget/function.yaml',
      [
        'label: widget',
        'memory: 512',
        'environment:',
        '  WIDGET_MODE: { Type: String, Description: x }',
        '  PASSWORD_SOURCE: local',
        '  widget_size: { parameter: LogLevel, Type: String, Description: x, Defualt: a }',
      ].join('\n'),
    );
    expect(problems()).toEqual([
      'functions/widget/function.yaml: unknown key "memory" (known: label, description, parameterGroup, memorySize, timeout, environment, statements, adminSecrets)',
      "functions/widget/function.yaml: description is missing: a string: the Lambda function's Description",
      "functions/widget/function.yaml: environment.WIDGET_MODE: a mapping declares the variable's template parameter: add parameter: <LogicalId> (e.g. WidgetMode), Type and Description",
      'functions/widget/function.yaml: environment.PASSWORD_SOURCE: already set for every function by template.base.yaml Globals',
      'functions/widget/function.yaml: environment.widget_size: a variable name is UPPER_SNAKE_CASE',
      'functions/widget/function.yaml: environment.widget_size: unknown key "Defualt" (known: parameter, unsetWhenEmpty, Type, Default, AllowedValues, AllowedPattern, MinValue, MaxValue, MinLength, MaxLength, NoEcho, Description, ConstraintDescription)',
      'functions/widget/function.yaml: environment.widget_size: parameter LogLevel is already declared in template.base.yaml',
      'functions/widget/function.yaml: parameterGroup is missing: the console group of its parameters (e.g. Databases)',
    ]);
  });

  it('generates the resources, parameter, condition and statements a complete declaration asks for', () => {
    write(
      'functions/widget/function.yaml',
      [
        'label: Widget',
        'description: Rotates widgets',
        'parameterGroup: Widgets',
        'timeout: 45',
        'environment:',
        '  WIDGET_MODE:',
        '    parameter: WidgetMode',
        '    unsetWhenEmpty: true',
        '    Type: String',
        "    Default: ''",
        '    Description: WIDGET_MODE of the widget function.',
        '  CONNECT_TIMEOUT_MS: !Ref DatabaseConnectTimeoutMs',
        'statements:',
        '  - Sid: ReadWidgetParameters',
        '    Effect: Allow',
        '    Action: ssm:GetParameter',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation !Sub string.
        '    Resource: !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/widgets/*',
      ].join('\n'),
    );
    expect(problems()).toEqual([]);
    const template = parseCloudFormationYaml(generateTemplate(fixture));
    const fn = template.Resources.WidgetFunction;
    expect(fn?.Properties).toMatchObject({
      FunctionName: { 'Fn::Sub': `\${AWS::StackName}-widget` },
      Description: 'Rotates widgets',
      CodeUri: 'dist/widget',
      Timeout: 45,
      Role: { 'Fn::GetAtt': ['WidgetRole', 'Arn'] },
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'rotator-widget',
          WIDGET_MODE: {
            'Fn::If': ['HasWidgetMode', { Ref: 'WidgetMode' }, { Ref: 'AWS::NoValue' }],
          },
          CONNECT_TIMEOUT_MS: { Ref: 'DatabaseConnectTimeoutMs' },
        },
      },
    });
    expect(template.Parameters?.WidgetMode).toEqual({
      Type: 'String',
      Default: '',
      Description: 'WIDGET_MODE of the widget function.',
    });
    expect(template.Conditions?.HasWidgetMode).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'WidgetMode' }, ''] }],
    });
    const sids = JSON.stringify(template.Resources.WidgetRole);
    expect(sids).toContain('ReadWidgetParameters');
    expect(template.Resources.WidgetRole?.Properties?.Description).toBe(
      'Execution role of the Widget rotation function',
    );
    for (const id of ['WidgetLogGroup', 'WidgetInvokePermission']) {
      expect(template.Resources[id], id).toBeDefined();
    }
    expect(template.Outputs?.WidgetFunctionArn?.Value).toEqual({
      'Fn::GetAtt': ['WidgetFunction', 'Arn'],
    });
    expect(template.Metadata).toMatchObject({
      'AWS::CloudFormation::Interface': {
        ParameterGroups: expect.arrayContaining([
          { Label: { default: 'Widgets' }, Parameters: ['WidgetMode'] },
        ]),
      },
    });
  });
});
