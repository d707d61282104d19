import type { CredentialKind, FieldProblem } from '../../kinds/CredentialKind.js';
import { ExampleStrategy } from './ExampleStrategy.js';

/**
 * JSON secrets whose `password` only their readers check (the engine's own example and the
 * local demo): nothing to log in to, so no target and no login check.
 */
export const exampleKind: CredentialKind = {
  name: 'example',
  label: 'example password',
  functionNameHints: ['example'],
  overlap: () => 'not-checked',
  recognise: () => undefined,
  validateEnvironment: () => {},
  createStrategy: () => new ExampleStrategy(),
  fieldProblems(fields): FieldProblem[] {
    const value = fields.password;
    if (value === undefined || value === null) {
      return [{ field: 'password', problem: 'is missing', severity: 'error' }];
    }
    if (typeof value !== 'string' || value === '') {
      return [{ field: 'password', problem: 'must be a non-empty string', severity: 'error' }];
    }
    return [];
  },
};
