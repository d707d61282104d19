import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { randomSuffix } from './credentials.js';
import type { MariadbServer } from './servers/mariadb.js';

/**
 * A MariaDB application user with everything alternating-users rotation must copy to its
 * clone: accounts at two hosts (`'%'` and `'127.0.0.1'`, one password, set from its hash so
 * the general log never sees it), SELECT and INSERT on `appdb`, UPDATE on `appdb.t` WITH
 * GRANT OPTION, and a role (DELETE on `appdb`) as its default role. Needs `appdb.t`.
 */
export async function createMariadbAppUser(
  server: MariadbServer,
  username: string,
  password: string,
  role = `r_${randomSuffix()}`,
): Promise<void> {
  const hash = mysqlNativePasswordHash(password);
  for (const host of ['%', '127.0.0.1']) {
    await server.query('CREATE USER ?@? IDENTIFIED BY PASSWORD ?', [username, host, hash]);
    await server.query('GRANT SELECT, INSERT ON appdb.* TO ?@?', [username, host]);
  }
  await server.query("GRANT UPDATE ON appdb.t TO ?@'%' WITH GRANT OPTION", [username]);
  await server.query('CREATE ROLE ?', [role]);
  await server.query('GRANT DELETE ON appdb.* TO ?', [role]);
  await server.query("GRANT ? TO ?@'%'", [role, username]);
  await server.query("SET DEFAULT ROLE ? FOR ?@'%'", [role, username]);
}
