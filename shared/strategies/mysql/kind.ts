import type { CredentialKind } from '../../kinds/CredentialKind.js';
import { databaseKind } from '../database/kind.js';
import { mysqlDialects } from './MysqlDialect.js';
import { startMysqlTls } from './startTls.js';

/** MySQL, Aurora MySQL and MariaDB logins (single-user or alternating users). */
export const mysqlKind: CredentialKind = databaseKind({
  name: 'mysql',
  label: 'MySQL/MariaDB',
  functionNameHints: ['mysql', 'mariadb'],
  dialects: (env) => mysqlDialects(env),
  // AWS's older `aurora` engine name: recognised, then refused by name in the field checks.
  engineAliases: ['aurora'],
  startTls: startMysqlTls,
});
