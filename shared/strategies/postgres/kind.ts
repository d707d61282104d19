import type { CredentialKind } from '../../kinds/CredentialKind.js';
import { databaseKind } from '../database/kind.js';
import { postgresDialects } from './PostgresDialect.js';
import { startPostgresTls } from './startTls.js';

/** PostgreSQL and Aurora PostgreSQL logins (single-user or alternating users). */
export const postgresKind: CredentialKind = databaseKind({
  name: 'postgres',
  label: 'PostgreSQL',
  functionNameHints: ['postgres'],
  dialects: () => postgresDialects(),
  // Older spellings seen in secrets: recognised, then refused by name in the field checks.
  engineAliases: ['postgresql'],
  startTls: startPostgresTls,
});
