import { describe, expect, it } from 'vitest';
import {
  evaluateWithDefaults,
  parseCloudFormationYaml,
  UnresolvableIntrinsicError,
} from '../../cli/lib/cfnYaml.js';

const TEMPLATE = `
Parameters:
  Name: { Type: String, Default: svc }
  Subnets: { Type: CommaDelimitedList, Default: '' }
  Mode: { Type: String, Default: fast }
Conditions:
  HasSubnets: !Not [!Equals [!Join ['', !Ref Subnets], '']]
  IsFast: !Equals [!Ref Mode, fast]
  Both: !And [!Condition IsFast, !Not [!Condition HasSubnets]]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt Role.Arn
      Name: !Sub \${AWS::StackName}-\${Name}
      Vpc: !If [HasSubnets, { SubnetIds: !Ref Subnets }, !Ref AWS::NoValue]
      Flags:
        - !If [Both, on, off]
        - !If [HasSubnets, x, !Ref AWS::NoValue]
      Pick: !Select [1, !Split [',', 'a,b,c']]
`;

describe('CloudFormation YAML', () => {
  it('parses every short form into the long form', () => {
    const template = parseCloudFormationYaml(TEMPLATE);
    const props = template.Resources.Fn?.Properties ?? {};
    expect(props.Role).toEqual({ 'Fn::GetAtt': ['Role', 'Arn'] });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation !Sub string.
    expect(props.Name).toEqual({ 'Fn::Sub': '${AWS::StackName}-${Name}' });
    expect(props.Pick).toEqual({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] });
    expect(template.Conditions?.Both).toEqual({
      'Fn::And': [{ Condition: 'IsFast' }, { 'Fn::Not': [{ Condition: 'HasSubnets' }] }],
    });
  });

  it('rejects duplicate keys and non-mapping documents', () => {
    expect(() => parseCloudFormationYaml('Resources: {}\nResources: {}\n')).toThrow();
    expect(() => parseCloudFormationYaml('- a\n')).toThrow(TypeError);
  });

  it('evaluates with parameter defaults, dropping AWS::NoValue keys and items', () => {
    const template = parseCloudFormationYaml(TEMPLATE);
    const props = template.Resources.Fn?.Properties ?? {};
    expect(
      evaluateWithDefaults(
        template,
        { Name: props.Name, Vpc: props.Vpc, Flags: props.Flags },
        { 'AWS::StackName': 'stack' },
      ),
    ).toEqual({ Name: 'stack-svc', Flags: ['on'] });
    expect(() => evaluateWithDefaults(template, props.Pick)).toThrow(UnresolvableIntrinsicError);
  });
});
