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

  /** Loads a bundle in a fresh Node with `env`; resolves when it exports a handler. */
  function load(bundle: string, env: Record<string, string>) {
    // Loading the module runs each function's start-up validation (ROTATION_MODE,
    // DEFAULT_SSL_MODE, password policy...): a template that sets a bad value fails here.
    const probe = `const m = require(${JSON.stringify(bundle)}); if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }`;
    const { PATH, HOME } = process.env;
    return run(process.execPath, ['-e', probe], {
      env: {
        PATH,
        HOME,
        AWS_REGION: PSEUDO['AWS::Region'],
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        ...env,
      },
    });
  }

  function functionEnvironments(given: Record<string, string | string[]>) {
    const globals = template.Globals?.Function ?? {};
    return Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
      .map(([logicalId, fn]) => ({
        logicalId,
        bundle: join(outdir, String(fn.Properties?.CodeUri).replace(/^dist\//, ''), 'index.js'),
        env: evaluateWithDefaults(
          template,
          {
            ...(globals.Environment as { Variables?: object } | undefined)?.Variables,
            ...(fn.Properties?.Environment as { Variables?: object } | undefined)?.Variables,
          },
          { ...PSEUDO, ...given },
        ) as Record<string, string>,
      }));
  }

  it.each([
    ['the parameter defaults', {}],
    [
      'every option set',
      {
        PasswordLength: '40',
        ExcludeCharacters: ':/@"\'\\%;',
        ExcludePunctuation: 'true',
        ExcludeNumbers: 'false',
        RequireEachIncludedType: 'false',
        PasswordSource: 'service',
        PostgresRotationMode: 'alternating-users',
        MysqlRotationMode: 'alternating-users',
        MysqlUsernameCharacterLimit: '32',
        DefaultSslMode: 'require',
        DatabaseConnectTimeoutMs: '10000',
        ApiKeyMode: 'provider',
        ApiKeyProviderAllowedHosts: 'api.example.com',
        ApiKeyField: 'token',
        ApiKeyPrefix: 'rk_',
        ApiKeyLength: '48',
        SecretsManagerEndpointUrl: 'https://vpce-0abc.secretsmanager.us-east-1.vpce.amazonaws.com',
        LogLevel: 'DEBUG',
      },
    ],
  ])('starts every bundle with the environment the template gives it: %s', async (_name, given) => {
    for (const { logicalId, bundle, env } of functionEnvironments(given)) {
      await expect(load(bundle, env), logicalId).resolves.toBeDefined();
    }
  });

  it('notices a bad value: the same load fails for an invalid ROTATION_MODE', async () => {
    const postgres = functionEnvironments({}).find((f) => f.logicalId === 'PostgresFunction');
    expect(postgres).toBeDefined();
    await expect(
      load(postgres?.bundle ?? '', { ...postgres?.env, ROTATION_MODE: 'sometimes' }),
    ).rejects.toThrow(/ROTATION_MODE/);
  });

  it('passes cfn-lint with informational checks too (AWS CloudFormation Linter, SAM transform, --include-checks I)', async () => {
    // cfn-lint is Python and ships on this project's machine image (pip, with
    // aws-sam-translator); the npm "cfn-lint" package has a 2019 resource specification that
    // rejects current properties (RotateImmediatelyOnUpdate, ScheduleExpression).
    const result = await run(
      cfnLint(),
      ['--format', 'parseable', '--include-checks', 'I', '--', 'template.yaml'],
      {
        cwd: root,
      },
    ).catch((error: { code?: unknown; stdout?: string; stderr?: string }) => {
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
