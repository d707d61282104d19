import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../shared/errors.js';
import { classifySecret, KINDS, kindNamed } from '../../shared/kinds/registry.js';

const root = resolve(import.meta.dirname, '..', '..');
const functionNames = readdirSync(join(root, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'functions', d.name, 'handler.ts')))
  .map((d) => d.name);

/**
 * Adding a kind: its module, its handler and one line in shared/kinds/registry.ts. These
 * checks tell a newcomer which of the three is missing.
 */
describe('the kind registry', () => {
  it.each(functionNames)(
    'functions/%s/handler.ts wires a registered kind of the same name',
    (name) => {
      const source = readFileSync(join(root, 'functions', name, 'handler.ts'), 'utf8');
      const imported = /shared\/strategies\/([a-z0-9-]+)\/kind\.js/.exec(source)?.[1];
      expect(
        imported,
        `functions/${name}/handler.ts should import its kind from shared/strategies/<kind>/kind.js and pass it to rotationHandler`,
      ).toBeDefined();
      expect(source).toMatch(/rotationHandler\(\s*[A-Za-z]+Kind\b/);
      expect(
        kindNamed(name),
        `add the kind exported by shared/strategies/${imported}/kind.ts to KINDS in shared/kinds/registry.ts, with name '${name}'`,
      ).toBeDefined();
    },
  );

  it('names every kind once, each with a label and a function-name hint', () => {
    const names = KINDS.map((kind) => kind.name);
    expect(new Set(names).size).toBe(names.length);
    for (const kind of KINDS) {
      expect(kind.label, kind.name).not.toBe('');
      expect(kind.functionNameHints.length, kind.name).toBeGreaterThan(0);
    }
  });

  it.each(KINDS.map((kind) => [kind.name, kind] as const))(
    '%s: answers junk secrets and environments with verdicts or typed errors, never crashes',
    (_name, kind) => {
      const junk = [{}, { engine: 42 }, { host: [], port: {}, username: null }, { provider: 'x' }];
      for (const fields of junk) {
        expect(() => kind.recognise(fields)).not.toThrow();
        const problems = kind.fieldProblems(fields, {});
        for (const problem of problems) {
          expect(problem.field).not.toBe('');
          expect(['error', 'warning']).toContain(problem.severity);
        }
        expect(['until-next-rotation', 'until-finish', 'none', 'not-checked']).toContain(
          kind.overlap(fields, {}),
        );
      }
      // An environment either validates or fails naming the variable.
      for (const env of [{}, { ROTATION_MODE: 'sideways', CONNECT_TIMEOUT_MS: 'soon' }]) {
        try {
          kind.validateEnvironment(env);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigurationError);
        }
      }
    },
  );

  it.each([
    [{ engine: 'postgres' }, undefined, 'postgres'],
    [{ engine: 'mariadb' }, 'prod-postgres', 'mysql'],
    [{}, 'prod-mysql', 'mysql'],
    [{ apiKey: 'k' }, undefined, 'apikey'],
    [{ apiKey: 'k' }, 'stack-example', 'example'],
    [{ engine: 'oracle' }, 'other', undefined],
  ] as const)('classifies %j rotated by %s as %s', (fields, fn, expected) => {
    expect(classifySecret({ ...fields }, fn).kind?.name).toBe(expected);
  });
});
