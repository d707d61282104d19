import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDefaultRegistry } from './secrets-manager/defaultRegistry.js';
import { type LocalEndpoint, startLocalSecretsManager } from './secrets-manager/index.js';
import { MASTER_KEY_ENV } from './secrets-manager/masterKey.js';
import type { RotationRegistry } from './secrets-manager/rotation.js';
import { seedExampleSecrets } from './secrets-manager/seed.js';

/** `npm start`: the local twin (Secrets Manager, KMS, Parameter Store, S3) on 127.0.0.1. */
const USAGE = `Usage: npm start -- [options]
  --port <n>              TCP port on 127.0.0.1 (default: $PORT or 4599; 0 = any free port)
  --state <file>          encrypted state file (default: .local-state/secrets-manager.json;
                          KMS, SSM and S3 state in <file>.kms, <file>.ssm, <file>.s3)
  --in-memory             keep state in memory only
  --master-key-file <f>   master key file (default: <state>.key, created with mode 0600;
                          ${MASTER_KEY_ENV} takes precedence)
  --functions <module>    module exporting createRotationFunctions(endpoint) => Map<name, handler>
                          (default: rotator-example = rotationHandler(new ExampleStrategy()))
  --no-seed               do not create the example secret rotator/example
  --region <r>            default region: of unsigned requests and the seed (default: us-east-1);
                          signed requests use the region of their signature
  --account-id <id>       account in ARNs (default: 123456789012)
  --function-timeout-ms   rotation function timeout per step (default: 30000)
  --quiet                 no request log on stderr`;

async function loadFunctions(
  modulePath: string,
  endpoint: LocalEndpoint,
): Promise<RotationRegistry> {
  const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as {
    createRotationFunctions?: (e: LocalEndpoint) => RotationRegistry | Promise<RotationRegistry>;
  };
  if (typeof mod.createRotationFunctions !== 'function') {
    throw new Error(`${modulePath} does not export createRotationFunctions(endpoint)`);
  }
  return mod.createRotationFunctions(endpoint);
}

async function main(): Promise<void> {
  // Node 20 is supported for local use (Lambda runs 22); the SDK's notice about 2027 would
  // bury the start-up text. Read when the first client is built, so setting it here works.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      state: { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      'master-key-file': { type: 'string' },
      functions: { type: 'string' },
      'no-seed': { type: 'boolean', default: false },
      region: { type: 'string' },
      'account-id': { type: 'string' },
      'function-timeout-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port ?? process.env.PORT ?? 4599);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`Invalid port: ${values.port}`);
  const statePath = values['in-memory']
    ? undefined
    : resolve(values.state ?? '.local-state/secrets-manager.json');
  const functions = values.functions;
  const timeout = values['function-timeout-ms'];
  const twin = await startLocalSecretsManager({
    port,
    ...(statePath
      ? {
          statePath,
          masterKeyFile: resolve(values['master-key-file'] ?? `${statePath}.key`),
          generateMasterKey: true,
        }
      : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(values['account-id'] ? { accountId: values['account-id'] } : {}),
    ...(timeout ? { functionTimeoutMs: Number(timeout) } : {}),
    registry: (endpoint) =>
      functions ? loadFunctions(functions, endpoint) : createDefaultRegistry(endpoint),
    // Request log lines name operations and secrets, never values.
    log: values.quiet
      ? () => undefined
      : (entry) =>
          process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`),
  });
  const seeded = values['no-seed'] ? [] : await seedExampleSecrets(twin);
  // First line is machine-readable: tests and scripts read the URL from it.
  process.stdout.write(`LOCAL_SECRETS_MANAGER_URL=${twin.url}\n`);
  process.stdout.write(`
Local Secrets Manager, KMS, Parameter Store and S3 (rotator twin) listening on ${twin.url}
  state: ${statePath ?? 'in memory'}${statePath ? ` (+ .kms, .ssm, .s3 beside it)` : ''}${seeded.length ? `\n  seeded: ${seeded.join(', ')}` : ''}
  rotation functions: ${[...twin.registry.keys()].join(', ') || '(none)'}
Credentials are NOT checked: any signature is accepted. Use dummy ones:

  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=${twin.region} AWS_DEFAULT_REGION=${twin.region}
  export AWS_ENDPOINT_URL=${twin.url}   # every service below (SDK v3 and AWS CLI >= 2.13)
  aws --endpoint-url ${twin.url} secretsmanager list-secrets
  aws --endpoint-url ${twin.url} secretsmanager rotate-secret --secret-id rotator/example
  aws --endpoint-url ${twin.url} ssm get-parameter --name /app/db-password --with-decryption

The same endpoint serves Secrets Manager, KMS, Parameter Store (SSM) and S3 (path-style:
${twin.url}/<bucket>/<key>; SDK v3: forcePathStyle: true).

SDK v3: new SecretsManagerClient({ endpoint: '${twin.url}', region: '${twin.region}',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
Press Ctrl+C to stop.\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void twin.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `local Secrets Manager failed to start: ${(error as Error)?.message ?? String(error)}\n`,
  );
  process.exit(1);
});
