import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CloudFormationTemplate,
  evaluateWithDefaults,
  parseCloudFormationYaml,
} from '../../cli/lib/cfnYaml.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..', '..');
const PSEUDO = {
  'AWS::StackName': 'rotator',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
};

/**
 * cfn-lint on PATH, else where the image's pyenv puts it (a CI environment may have a PATH
 * without pyenv's shims).
 */
function cfnLint(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'cfn-lint'))) return join(dir, 'cfn-lint');
  }
  const pyenv = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const versions = existsSync(join(pyenv, 'versions')) ? readdirSync(join(pyenv, 'versions')) : [];
  const candidates = [
    join(pyenv, 'shims', 'cfn-lint'),
    ...versions.map((v) => join(pyenv, 'versions', v, 'bin', 'cfn-lint')),
  ];
  return candidates.find((c) => existsSync(c)) ?? 'cfn-lint';
}

describe('template.yaml against the build', () => {
  let outdir: string;
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    template = parseCloudFormationYaml(readFileSync(join(root, 'template.yaml'), 'utf8'));
    outdir = mkdtempSync(join(tmpdir(), 'rotator-build-'));
    await run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', outdir], {
      cwd: root,
    });
  }, 180_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('has a built bundle and source map behind every CodeUri', () => {
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Serverless::Function',
    );
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      const codeUri = String(fn.Properties?.CodeUri);
      expect(codeUri).toMatch(/^dist\/[a-z0-9-]+$/);
      const dir = join(outdir, codeUri.replace(/^dist\//, ''));
      expect(existsSync(join(dir, 'index.js')), `${codeUri}/index.js`).toBe(true);
      expect(existsSync(join(dir, 'index.js.map')), `${codeUri}/index.js.map`).toBe(true);
    }
  });

  it('starts every bundle with the environment the template gives it (parameter defaults)', async () => {
    const globals = template.Globals?.Function ?? {};
    for (const [logicalId, fn] of Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Serverless::Function',
    )) {
      const variables = evaluateWithDefaults(
        template,
        {
          ...(globals.Environment as { Variables?: object } | undefined)?.Variables,
          ...(fn.Properties?.Environment as { Variables?: object } | undefined)?.Variables,
        },
        PSEUDO,
      ) as Record<string, string>;
      const bundle = join(
        outdir,
        String(fn.Properties?.CodeUri).replace(/^dist\//, ''),
        'index.js',
      );
      // Loading the module runs each function's start-up validation (ROTATION_MODE,
      // DEFAULT_SSL_MODE, password policy...): a template that sets a bad value fails here.
      const probe = `const m = require(${JSON.stringify(bundle)}); if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }`;
      const { PATH, HOME } = process.env;
      await expect(
        run(process.execPath, ['-e', probe], {
          env: {
            PATH,
            HOME,
            AWS_REGION: PSEUDO['AWS::Region'],
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
            AWS_LAMBDA_FUNCTION_NAME: `rotator-${logicalId}`,
            ...variables,
          },
        }),
        logicalId,
      ).resolves.toBeDefined();
    }
  });

  it('passes cfn-lint (AWS CloudFormation Linter, with the SAM transform)', async () => {
    // cfn-lint is Python and ships on this project's machine image (pip, with
    // aws-sam-translator); the npm "cfn-lint" package has a 2019 resource specification that
    // rejects current properties (RotateImmediatelyOnUpdate, ScheduleExpression).
    const result = await run(cfnLint(), ['--format', 'parseable', 'template.yaml'], {
      cwd: root,
    }).catch((error: { code?: unknown; stdout?: string; stderr?: string }) => {
      if (error.code === 'ENOENT') {
        throw new Error(
          'cfn-lint is not installed: it comes with the machine image (pip cfn-lint)',
        );
      }
      return { stdout: error.stdout ?? '', stderr: error.stderr ?? '', failed: true };
    });
    expect(result.stdout.trim(), 'cfn-lint findings').toBe('');
  }, 120_000);
});
